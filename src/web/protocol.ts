/**
 * The messages between the inspector page and its Worker. The page holds no capture and decodes
 * nothing: it asks, the Worker (which reads the File lazily, slice by slice) answers with plain
 * data. Every request carries an id; the answer carries it back with a result or an error.
 * Addresses cross as hex strings (a structured clone keeps bigint, but the page only shows them).
 */

/** How to read a file that is not a capture format the library recognises. */
export interface RegionSettings {
  /** 'region': captured memory at `base`; 'physical': a raw physical image read through page tables. */
  kind: 'region' | 'physical';
  /** Region: virtual address of the file's first byte (hex). */
  base?: string;
  abi?: 'x64' | 'x86';
  /** Physical: the DTB (hex); found when absent. */
  dtb?: string;
}

/** Where a capture's bytes come from: a File picked or dropped, or a URL `ndis-offload serve` answers range requests on. */
export type FileSource = { kind: 'file'; file: File } | { kind: 'url'; url: string; name: string; size: number };

export interface ProbeResult {
  /** The recogniser's label ("a Windows 64-bit crash dump"...), or undefined when the bytes say nothing (a region or raw image). */
  format: string | undefined;
  /** True when the file must be given a base (region) or be named a physical image. */
  needsSettings: boolean;
}

export interface OpenRequest {
  source: FileSource;
  /** A VMware .vmss/.vmsn opened together with its .vmem. */
  sibling?: FileSource;
  settings?: RegionSettings;
  ndis?: '6.0' | '6.1';
}

/** What the page shows of an opened capture (the `info` command's facts). */
export interface CaptureSummary {
  session: number;
  name: string;
  size: number;
  format: string;
  variant: string;
  abi: 'x64' | 'x86';
  paging: string;
  dtb: { value: string; source: string; evidence: string } | undefined;
  /** Region: the base; else undefined. */
  base: string | undefined;
  writable: boolean;
  readOnlyReason: string | undefined;
  warnings: string[];
}

export interface ScanHit {
  address: string;
  blocks: number;
  score: number;
}

/** One row of the tree: a block. */
export interface BlockRow {
  path: string;
  depth: number;
  layer: string;
  role: string;
  type: string;
  status: string;
  address: string;
  /** File offset of the block's first byte, or null. */
  offset: number | null;
  /** Index of the parent row, -1 for the top level. */
  parent: number;
  /** Index of this row's first dependent row, -1 when none. */
  firstChild: number;
  /** Number of dependents. */
  children: number;
  /** Diagnostics on this block: the highest severity, or undefined. */
  severity?: 'error' | 'warning' | 'info';
}

export interface DiagnosticRow {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  path: string;
  member?: string;
  address: string;
  offset: number | null;
  /** The row of the block it concerns, or -1. */
  row: number;
  count?: number;
}

export interface DecodeResult {
  root: string;
  operation: string | null;
  /** The NDIS revision the tree was decoded for. */
  ndis: string;
  rows: BlockRow[];
  diagnostics: DiagnosticRow[];
  /** Milliseconds the decode took in the Worker. */
  ms: number;
}

/** One member of a block or state structure, as `layout` and `decode` show it. */
export interface MemberRow {
  /** `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Length`, `TCP_OFFLOAD_STATE_CONST.RemotePort`. */
  path: string;
  /** The C member name (last part of the path). */
  name: string;
  /** Nesting: 0 for a structure, 1 for its members... */
  depth: number;
  /** The C type as written in the header. */
  ctype: string;
  address: string;
  /** Offset from the structure's start. */
  offset: number;
  size: number;
  fileOffset: number | null;
  bitOffset?: number;
  bitWidth?: number;
  /** The stored bytes, hex, in memory order; '' for a structure row. */
  raw: string;
  /** The document's value, as text ('' for a structure row). */
  value: string;
  /** The value's meaning where it has one: a status or enum name, an IP address, the port in host order. */
  meaning: string;
  /** Where the member points, for pointer members (hex), when it is not NULL. */
  target?: string;
  /** Whether the member may be edited here (scalars of a writable capture). */
  editable: boolean;
  /** Whether it is a structure (has members below it). */
  struct: boolean;
  /** True for padding between members. */
  padding?: boolean;
}

export interface BlockDetails {
  row: number;
  members: MemberRow[];
  diagnostics: DiagnosticRow[];
}

/** A run of bytes in a hex window owned by one member (or padding) of one block. */
export interface ByteSpan {
  /** File offset of the first byte. */
  offset: number;
  size: number;
  row: number;
  /** The member path, as MemberRow.path, or `... padding`. */
  label: string;
  padding: boolean;
}

export interface BytesResult {
  offset: number;
  bytes: Uint8Array;
  /** Offsets in the window that the capture does not hold (bitmap gaps): none for files. */
  spans: ByteSpan[];
}

export interface OwnerResult {
  row: number;
  label: string;
  offset: number;
  size: number;
  padding: boolean;
}

/** How a member is edited: what the input takes and the C type's range (issue 25, "Acting on it"). */
export interface EditSpec {
  row: number;
  /** The member path, as MemberRow.path. */
  member: string;
  ctype: string;
  /** integer: a number (decimal or 0x); pointer: an address (hex); status: an NDIS_STATUS name or hex word; enum: a name or number; port: the port in host order; bytes: hex; json: the JSON value. */
  kind: 'integer' | 'pointer' | 'status' | 'enum' | 'port' | 'bytes' | 'json';
  /** The range the value must lie in (decimal), for the numeric kinds. */
  min?: string;
  max?: string;
  /** Bit-fields: the width. */
  bits?: number;
  /** Names offered (enum and status members). */
  names?: string[];
  /** The value now, as the input takes it. */
  current: string;
  /** One line describing what is accepted. */
  hint: string;
}

/** Where the capture's edits stand: what changed since it was opened, and what can be undone or redone. */
export interface EditState {
  /** File offsets whose bytes differ from the file as opened. */
  changed: number[];
  /** The last write, undone or redone: what it was and the file offsets it touched. */
  last?: { what: string; offsets: number[] };
  /** What undo and redo would take back or write again (undefined: nothing). */
  undo?: string;
  redo?: string;
}

/** A completion as `complete` takes it: the operation, the status of deciding blocks (--status), and statuses by block address (--fail). */
export interface CompleteRequest {
  session: number;
  operation: string;
  status?: string;
  fail?: { address: string; status: string }[];
}

export interface CompletePreview {
  operation: string;
  /** Every block, in tree order: its Status now and what the writer would write. */
  blocks: { row: number; path: string; layer: string; role: string; address: string; before: string; after: string }[];
  /** The writer's summary: blocks by role and by status written. */
  byRole: Record<string, number>;
  byStatus: Record<string, number>;
}

/** What the page can download (docs/web.md): each is the CLI's output byte for byte. */
export type DownloadKind = 'capture' | 'json' | 'hexdump' | 'hexdump-json' | 'ksy' | 'hexpat' | 'isf' | 'region' | 'region-json';

export interface DownloadResult {
  name: string;
  mime: string;
  bytes: Uint8Array;
}

/** One step of a byte search (Ctrl+F in the hex view): the match's file offset, or where the next step starts and whether the file's end (or start) was reached. */
export interface FindResult {
  offset: number | null;
  next: number;
  done: boolean;
}

/** Requests: op name → [argument, result]. */
export interface Ops {
  /** The structural diff of two decoded captures, member by member (`diff`'s list), with the changed bytes of each. */
  diff: [{ a: number; b: number }, DiffResult];
  probe: [{ source: FileSource; sibling?: FileSource }, ProbeResult];
  open: [OpenRequest, CaptureSummary];
  close: [{ session: number }, void];
  scan: [{ session: number }, ScanHit[]];
  decode: [{ session: number; root?: string; operation?: string; ndis?: string }, DecodeResult];
  details: [{ session: number; row: number }, BlockDetails];
  bytes: [{ session: number; offset: number; length: number }, BytesResult];
  owner: [{ session: number; offset: number }, OwnerResult | undefined];
  /** A virtual address to its file offset (Ctrl+G). */
  locate: [{ session: number; address: string }, { offset: number } | undefined];
  /** How a member is edited (refused with the reason for a read-only capture). */
  editSpec: [{ session: number; row: number; member: string }, EditSpec];
  /** Writes one member, as encode --onto would (all or nothing). */
  edit: [{ session: number; row: number; member: string; value: string }, EditState];
  undo: [{ session: number }, EditState];
  redo: [{ session: number }, EditState];
  /** What completing would write per block, without writing. */
  completePreview: [CompleteRequest, CompletePreview];
  complete: [CompleteRequest, EditState];
  download: [{ session: number; kind: DownloadKind }, DownloadResult];
  /** A step of a search for bytes: forward from `from`, or backwards before it. */
  find: [{ session: number; pattern: number[]; from: number; backwards?: boolean }, FindResult];
}

export type Op = keyof Ops;

export interface Request<K extends Op = Op> {
  id: number;
  op: K;
  arg: Ops[K][0];
}

/** A typed error crosses as its class name and message (the CLI's one line). */
export interface ErrorReply {
  name: string;
  message: string;
}

export type Reply = { id: number; result: unknown } | { id: number; error: ErrorReply } | { id: number; progress: { done: number; total: number; what: string } };

/** One side of a changed member: the member row it is, and the bytes of it that differ (file offsets). */
export interface DiffSide {
  /** The block's row in that side's tree. */
  row: number;
  /** The member row's path (MemberRow.path), or undefined when the member has no bytes of its own (`layer`, `*SourceAddress`). */
  member?: string;
  /** The member's first byte in the file, or null. */
  fileOffset: number | null;
  size: number;
  /** File offsets of the member's bytes that differ from the other side's (all of them when the other side lacks it). */
  marked: number[];
}

/** One change of the `diff` command's list, with where it is in each capture. */
export interface DiffChange {
  path: string;
  address: string;
  /** Dotted member as `diff` names it: `Status`, `state.TCP_OFFLOAD_STATE_DELEGATED.SndNxt`. */
  member: string;
  /** The values `diff --json` gives (absent when the side lacks the member). */
  before?: unknown;
  after?: unknown;
  /** As `diff` prints them (`(absent)` for a missing member). */
  beforeText: string;
  afterText: string;
  a?: DiffSide;
  b?: DiffSide;
}

/** The structural diff of two opened captures (`ndis-offload diff A B`). */
export interface DiffResult {
  a: { session: number; name: string; root: string };
  b: { session: number; name: string; root: string };
  operation: string | null;
  changes: DiffChange[];
  onlyInA: string[];
  onlyInB: string[];
  /** Every marked byte of each side, sorted file offsets. */
  marksA: number[];
  marksB: number[];
  ms: number;
}

/**
 * The page's scripting hook, `window.ndisOffloadInspector`: read-only state for scripts that drive
 * the page (the browser tests, automation).
 */
export interface InspectorHook {
  /** The diff panel's result, undefined when no diff is shown. */
  readonly diff: DiffResult | undefined;
  readonly summary: CaptureSummary | undefined;
  readonly rows: BlockRow[];
  readonly diagnostics: DiagnosticRow[];
  readonly selection: { row: number; member?: string; offset?: number } | undefined;
  /** A block's member rows, as the details pane shows them. */
  details(row: number): Promise<BlockDetails>;
  /** The hex view's cursor (a file offset). */
  readonly cursor: number;
  readonly edits: EditState;
}
