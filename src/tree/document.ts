/**
 * The JSON document: the contract between decode, encode, the CLI and users' programs.
 * Versioned by `format`; documented in docs/json-format.md.
 */
import type { Layer, Operation } from '../layout/constants.js';

export const FORMAT = 'ndis-offload-tree/1';

export type Role = 'placeholder' | 'linker' | 'new-offload';
export const ROLES: readonly Role[] = ['placeholder', 'linker', 'new-offload'];

export type Severity = 'error' | 'warning' | 'info';

/** Every diagnostic code the library emits (docs/json-format.md lists them with their meaning). */
export type DiagnosticCode =
  | 'ROOT_NULL'
  | 'POINTER_OUTSIDE_IMAGE'
  | 'BLOCK_TRUNCATED'
  | 'POINTER_MISALIGNED'
  | 'CYCLE'
  | 'BLOCK_SHARED'
  | 'TCP_HAS_DEPENDENTS'
  | 'HEADER_SIZE_MISMATCH'
  | 'TYPE_UNKNOWN'
  | 'TYPE_LAYER_MISMATCH'
  | 'STATE_LENGTH_MISMATCH'
  | 'STATE_TRUNCATED'
  | 'STATE_INFERRED'
  | 'STATUS_NOT_ALLOWED'
  | 'CONTEXT_OUTSIDE_IMAGE'
  | 'ADDRESS_NULL'
  | 'ADDRESS_OUTSIDE_IMAGE'
  | 'BASE_SUSPECT'
  | 'LIMIT_BLOCKS'
  | 'DIAGNOSTICS_LIMIT';

/** The severity of each code (a code always has the same one). */
export const DIAGNOSTIC_SEVERITY: Readonly<Record<DiagnosticCode, Severity>> = {
  ROOT_NULL: 'error',
  POINTER_OUTSIDE_IMAGE: 'error',
  BLOCK_TRUNCATED: 'error',
  POINTER_MISALIGNED: 'warning',
  CYCLE: 'error',
  BLOCK_SHARED: 'error',
  TCP_HAS_DEPENDENTS: 'error',
  HEADER_SIZE_MISMATCH: 'warning',
  TYPE_UNKNOWN: 'warning',
  TYPE_LAYER_MISMATCH: 'warning',
  STATE_LENGTH_MISMATCH: 'warning',
  STATE_TRUNCATED: 'error',
  STATE_INFERRED: 'info',
  STATUS_NOT_ALLOWED: 'warning',
  CONTEXT_OUTSIDE_IMAGE: 'info',
  ADDRESS_NULL: 'warning',
  ADDRESS_OUTSIDE_IMAGE: 'warning',
  BASE_SUSPECT: 'warning',
  LIMIT_BLOCKS: 'error',
  DIAGNOSTICS_LIMIT: 'warning',
};

/** Every diagnostic code, in the order docs/json-format.md lists them. */
export const DIAGNOSTIC_CODES = Object.keys(DIAGNOSTIC_SEVERITY) as readonly DiagnosticCode[];

export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. POINTER_OUTSIDE_IMAGE. Programs match on this, never on the message. */
  code: DiagnosticCode;
  message: string;
  /** The block's path in the tree: `blocks[1].dependents[0].dependents[3]`. */
  path: string;
  /** The C member concerned, when there is one: `NextBlock`, `TCP_OFFLOAD_STATE_CONST.Header.Length`. */
  member?: string;
  /** Virtual address of the bytes concerned. */
  address: string;
  /** Byte offset of those bytes in their segment or file; null where that means nothing. */
  offset: number | null;
  /**
   * Present on a summary, which stands for `count` diagnostics of this code that are not listed
   * one by one (only in a document that reached its diagnostic limit): `path`, `member`, `address`
   * and `offset` are those of the first of them, `lastPath` the path of the last.
   */
  count?: number;
  lastPath?: string;
}

/** How many diagnostics of each severity a list stands for: summaries count as their `count`; DIAGNOSTICS_LIMIT, which is about the list, is not counted. */
export function diagnosticCounts(diagnostics: readonly Diagnostic[]): Record<Severity, number> {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const d of diagnostics) if (d.code !== 'DIAGNOSTICS_LIMIT') counts[d.severity] += d.count ?? 1;
  return counts;
}

export interface StatusJson {
  /** The NDIS_STATUS as stored: a signed 32-bit integer. */
  value: number;
  hex: string;
  /** The WDK name, or `unknown (0x........)`. */
  name: string;
}

/**
 * A block's members without its dependents: what decodeBlocks yields for each block, and what a
 * line of the NDJSON form holds (beside its path).
 */
export interface BlockFields {
  address: string;
  offset: number | null;
  layer: Layer;
  role: Role;
  /** The OFFLOAD_STATE_TYPE name of Header.Type, or `unknown (N)`. */
  type: string;
  Header: { Type: number; Revision: number; Size: number };
  NextBlock: string;
  DependentBlockList: string;
  Status: StatusJson;
  [member: string]: unknown;
  state?: Record<string, Record<string, unknown>>;
}

/** A block: its place, its role, every C member of the block structure, its state and dependents. */
export interface BlockJson extends BlockFields {
  dependents: BlockJson[];
}

/** The members of the document before `blocks`, in its order. */
export type DocumentHead = Omit<TreeDocument, 'blocks' | 'diagnostics'>;

export interface TreeDocument {
  format: typeof FORMAT;
  abi: 'x64' | 'x86';
  ndis: '6.0' | '6.1';
  /** Address of the first byte of the (first) segment, when the image is a region. */
  base: string | null;
  root: string;
  /** The operation the tree was decoded for, or null when state presence was inferred. */
  operation: Operation | null;
  blocks: BlockJson[];
  diagnostics: Diagnostic[];
}

export const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
export const hexPtr = (v: bigint, ptrSize: number): string => `0x${v.toString(16).padStart(ptrSize * 2, '0')}`;
