/**
 * The structural diff of two opened captures, as `ndis-offload diff A B` gives it: both trees
 * decoded to documents the way the CLI decodes them, compared by `diffTrees` (blocks matched by
 * path, members by their dotted name), and each change placed in both files: the member row it
 * is in each side's details, and the bytes of it that differ, which both hex views mark.
 */
import { Location, type MemoryImage } from '../../codec/image.js';
import { UsageError } from '../../errors.js';
import { decodeTree } from '../../tree/decode.js';
import { diffTrees, formatDiffValue } from '../../tree/diff.js';
import type { TreeDocument } from '../../tree/document.js';
import type { DiffChange, DiffResult, DiffSide, MemberRow } from '../protocol.js';
import type { Session } from './session.js';

const BLOCK = 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST';

/**
 * The member row a `diff` member names: `Status` and `Header.Type` are the block structure's
 * members, `state.TCP_OFFLOAD_STATE_DELEGATED.SndNxt` a state part's. Members without bytes of
 * their own (`layer`, `role`, `type`, `address`, a pointee such as `*SourceAddress`) have none.
 */
export function memberRowOf(member: string, rows: readonly MemberRow[]): MemberRow | undefined {
  const path = member.startsWith('state.') ? member.slice('state.'.length) : `${BLOCK}.${member}`;
  if (path.split('.').some((p) => p.startsWith('*'))) return undefined;
  return rows.find((r) => r.path === path && !r.padding && r.depth > 0);
}

/** The bytes of [address, address + size) with their file offsets (absent bytes left out). */
function bytesOf(image: MemoryImage, address: bigint, size: number, scratch: Location): { value: number; fileOffset: number }[] {
  const out: { value: number; fileOffset: number }[] = [];
  for (let i = 0; i < size; i++) {
    if (image.locate(address + BigInt(i), 1, scratch) && scratch.imageOffset >= 0) out.push({ value: scratch.view.getUint8(scratch.offset), fileOffset: scratch.imageOffset });
    else out.push({ value: -1, fileOffset: -1 });
  }
  return out;
}

function documentOf(s: Session, operation: Session['operation']): TreeDocument {
  if (s.root === undefined) throw new UsageError(`${s.capture.name}: decode a tree first (no root yet)`);
  return decodeTree(s.capture.image, s.root, { abi: s.abi, ndis: s.ndis, ...(operation ? { operation } : {}) });
}

/** Compares the trees of two decoded sessions (A's operation for both, as `diff --operation` applies to both sides). */
export function diffSessions(a: Session, b: Session): DiffResult {
  const t0 = performance.now();
  const operation = a.operation;
  const d = diffTrees(documentOf(a, operation), documentOf(b, operation));
  const sides = [a, b] as const;
  const rowOfPath = sides.map((s) => new Map(s.rows.map((r, i) => [r.path, i])));
  const members = sides.map(() => new Map<number, MemberRow[]>());
  const membersOf = (side: 0 | 1, row: number): MemberRow[] => {
    let m = members[side]!.get(row);
    if (!m) {
      m = sides[side].details(row).members;
      members[side]!.set(row, m);
    }
    return m;
  };
  const scratch = new Location();
  const marks = [new Set<number>(), new Set<number>()];
  const changes: DiffChange[] = d.changes.map((c) => {
    const located = sides.map((s, i) => {
      const row = rowOfPath[i]!.get(c.path);
      if (row === undefined) return undefined;
      const m = memberRowOf(c.member, membersOf(i as 0 | 1, row));
      return { row, m, bytes: m ? bytesOf(s.capture.image, BigInt(m.address), m.size, scratch) : [] };
    });
    const out: DiffChange = { path: c.path, address: c.address, member: c.member, beforeText: formatDiffValue(c.before), afterText: formatDiffValue(c.after), ...(c.before !== undefined ? { before: c.before } : {}), ...(c.after !== undefined ? { after: c.after } : {}) };
    const [x, y] = located;
    const marked: number[][] = [[], []];
    if (x?.m && y?.m) {
      // Byte by byte where both sides have the member; a member whose value differs with the same bytes (never, unless the layouts differ) is marked whole.
      const n = Math.max(x.bytes.length, y.bytes.length);
      for (let i = 0; i < n; i++) {
        const p = x.bytes[i];
        const q = y.bytes[i];
        if (p?.value === q?.value) continue;
        if (p && p.fileOffset >= 0) marked[0]!.push(p.fileOffset);
        if (q && q.fileOffset >= 0) marked[1]!.push(q.fileOffset);
      }
      if (!marked[0]!.length && !marked[1]!.length) {
        marked[0] = x.bytes.filter((p) => p.fileOffset >= 0).map((p) => p.fileOffset);
        marked[1] = y.bytes.filter((p) => p.fileOffset >= 0).map((p) => p.fileOffset);
      }
    } else {
      located.forEach((l, i) => {
        if (l?.m) marked[i] = l.bytes.filter((p) => p.fileOffset >= 0).map((p) => p.fileOffset);
      });
    }
    located.forEach((l, i) => {
      if (!l) return;
      for (const o of marked[i]!) marks[i]!.add(o);
      const side: DiffSide = { row: l.row, ...(l.m ? { member: l.m.path } : {}), fileOffset: l.m ? l.m.fileOffset : (sides[i]!.rows[l.row]?.offset ?? null), size: l.m ? l.m.size : 0, marked: marked[i]! };
      if (i === 0) out.a = side;
      else out.b = side;
    });
    return out;
  });
  const sorted = (s: Set<number>): number[] => [...s].sort((p, q) => p - q);
  return {
    a: { session: a.id, name: a.capture.name, root: a.hex(a.root!) },
    b: { session: b.id, name: b.capture.name, root: b.hex(b.root!) },
    operation: operation ?? null,
    changes,
    onlyInA: d.onlyInA,
    onlyInB: d.onlyInB,
    marksA: sorted(marks[0]!),
    marksB: sorted(marks[1]!),
    ms: performance.now() - t0,
  };
}
