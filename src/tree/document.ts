/**
 * The JSON document: the contract between decode, encode, the CLI and users' programs.
 * Versioned by `format`; documented in docs/json-format.md.
 */
import type { Layer, Operation } from '../layout/constants.js';

export const FORMAT = 'ndis-offload-tree/1';

export type Role = 'placeholder' | 'linker' | 'new-offload';
export const ROLES: readonly Role[] = ['placeholder', 'linker', 'new-offload'];

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. POINTER_OUTSIDE_IMAGE. Programs match on this, never on the message. */
  code: string;
  message: string;
  /** The block's path in the tree: `blocks[1].dependents[0].dependents[3]`. */
  path: string;
  /** The C member concerned, when there is one: `NextBlock`, `TCP_OFFLOAD_STATE_CONST.Header.Length`. */
  member?: string;
  /** Virtual address of the bytes concerned. */
  address: string;
  /** Byte offset of those bytes in their segment or file; null where that means nothing. */
  offset: number | null;
}

export interface StatusJson {
  /** The NDIS_STATUS as stored: a signed 32-bit integer. */
  value: number;
  hex: string;
  /** The WDK name, or `unknown (0x........)`. */
  name: string;
}

/** A block: its place, its role, every C member of the block structure, its state and dependents. */
export interface BlockJson {
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
  dependents: BlockJson[];
}

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
