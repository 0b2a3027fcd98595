/**
 * Finds offload state trees nobody gave an address for: looks in every mapped page for plausible
 * block lists, links candidates that point to each other, and ranks the roots (candidates no
 * other candidate points to).
 */
import { UsageError } from '../errors.js';
import { Location, type MemoryImage, joinHalves } from '../codec/image.js';
import { X64, type Abi } from '../layout/abi.js';
import { LAYERS, stateType } from '../layout/constants.js';
import { layoutOf } from '../layout/registry.js';
import type { Role } from './document.js';
import { expectedLengths } from './state.js';

export interface ScanCandidate {
  /** Address of the root block. */
  address: bigint;
  blocks: number;
  layers: Record<(typeof LAYERS)[number], number>;
  roles: Record<Role, number>;
  /** Higher is more plausible: blocks that link up, Types that fit their layer, state Lengths that match. */
  score: number;
}

export interface ScanOptions {
  abi?: Abi;
  /** Only the kernel half of a 64-bit address space (default true for x64 paged images). */
  kernelOnly?: boolean;
  /** Called with bytes scanned so far and the total, about every 16 MiB. */
  progress?: (done: number, total: number) => void;
  /** Most candidates kept (default 1,000,000): a bound on memory for hostile images; the scan stops there. */
  maxCandidates?: number;
  /**
   * Called with a hint when the user is probably wrong: a captured range whose first address is
   * not aligned as blocks are (the slots examined are the range's start plus multiples of the
   * block alignment, so a misaligned base means every aligned block is missed).
   */
  onWarning?: (message: string) => void;
}

interface Candidate {
  next: bigint;
  dep: bigint;
  role: Role;
  typeOk: boolean;
  typeLayer: string | undefined;
  stateOk: boolean;
}

const PAGE = 4096;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Scans the image and returns tree roots, best first. */
export function scanImage(image: MemoryImage, options: ScanOptions = {}): ScanCandidate[] {
  const abi = options.abi ?? X64;
  const ptr = abi.pointerSize;
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi);
  const at = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
  const SIZE_AT = at('Header') + 2;
  const NEXT = at('NextBlock');
  const DEP = at('DependentBlockList');
  const CTX = at('MiniportOffloadContext');
  const kernelOnly = options.kernelOnly ?? (image.kind === 'paged' && ptr === 8);
  const maxCandidates = options.maxCandidates ?? 1_000_000;
  if (!(maxCandidates >= 1)) throw new UsageError(`maxCandidates must be at least 1, not ${maxCandidates}`);
  const loc = new Location();
  const probe = new Location();
  const cands = new Map<bigint, Candidate>();

  const ranges = [...image.ranges()].filter((r) => !kernelOnly || r.address >= 0xffff800000000000n);
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const misaligned = ranges.find((r) => r.address % BigInt(block.align) !== 0n);
  if (misaligned && options.onWarning) {
    const a = misaligned.address;
    const hex = `0x${a.toString(16).padStart(ptr * 2, '0')}`;
    options.onWarning(
      `the captured memory at ${hex} is not ${block.align}-byte aligned, as ${abi.name} blocks are: the scan examines the addresses ${block.align} bytes apart from there, so it misses every aligned block; is the base right (the nearest aligned ones are 0x${(a - (a % BigInt(block.align))).toString(16)} and 0x${(a - (a % BigInt(block.align)) + BigInt(block.align)).toString(16)})?`,
    );
  }
  let done = 0;
  let reported = 0;

  const readPtr = (v: DataView, o: number): bigint =>
    ptr === 8 ? joinHalves(v.getUint32(o, true), v.getUint32(o + 4, true)) : BigInt(v.getUint32(o, true));
  /** NULL, or aligned and inside the image. */
  const linkOk = (p: bigint, size: number, align: number): boolean =>
    p === 0n || (p % BigInt(align) === 0n && image.locate(p, size, probe));

  /** Examines the slot at `o` of a page whose Header.Size is the block size; false once the candidate bound is reached. */
  const examine = (v: DataView, base: number, o: number, pageLen: number, pageAddress: bigint): boolean => {
    const address = pageAddress + BigInt(o);
    let bv = v;
    let bo = base + o;
    if (o + block.size > pageLen) {
      if (!image.locate(address, block.size, probe)) return true;
      bv = probe.view;
      bo = probe.offset;
    }
    const next = readPtr(bv, bo + NEXT);
    const dep = readPtr(bv, bo + DEP);
    const ctx = readPtr(bv, bo + CTX);
    const typeValue = bv.getUint8(bo);
    if (!linkOk(next, block.size, block.align) || !linkOk(dep, block.size, block.align) || !linkOk(ctx, ptr, ptr)) return true;
    let role: Role = 'placeholder';
    if (ctx !== 0n) {
      image.locate(ctx, ptr, probe);
      role = readPtr(probe.view, probe.offset) === 0n ? 'new-offload' : 'linker';
    }
    const type = stateType(typeValue);
    if (role !== 'placeholder' && !type?.layer) return true;
    let stateOk = false;
    if (type && role === 'new-offload' && image.locate(address + BigInt(block.size), 4, probe)) {
      stateOk = expectedLengths(type, abi).includes(probe.view.getUint32(probe.offset, true));
    }
    cands.set(address, { next, dep, role, typeOk: role === 'placeholder' || Boolean(type?.layer), typeLayer: type?.layer, stateOk });
    // The bound holds for the whole image, not per page: past it, stop reading.
    return cands.size < maxCandidates;
  };

  // The cheapest test first, on every aligned slot: Header.Size is the block size of the ABI. A
  // Uint16Array over the page's buffer reads it for a fraction of a DataView call (the slots are
  // most of a scan's time); a page at an odd byte offset, or a big-endian host, takes the DataView.
  const SIZE = block.size;
  const ALIGN = block.align;
  let words: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  let wordsOf: ArrayBufferLike | undefined;
  scan: for (const r of ranges) {
    // Page by page, so that a paged image is read in place; a block may straddle into the next page.
    for (let pageStart = 0; pageStart < r.length; pageStart += PAGE) {
      const pageLen = Math.min(PAGE, r.length - pageStart);
      const pageAddress = r.address + BigInt(pageStart);
      if (!image.locate(pageAddress, pageLen, loc)) continue;
      const v = loc.view;
      const base = loc.offset;
      // The last slot whose Header.Size lies in the page.
      const last = pageLen - SIZE_AT - 2;
      const first = v.byteOffset + base + SIZE_AT;
      if (LITTLE_ENDIAN && (first & 1) === 0) {
        if (v.buffer !== wordsOf) {
          wordsOf = v.buffer;
          words = new Uint16Array(v.buffer, 0, v.buffer.byteLength >>> 1);
        }
        const step = ALIGN >>> 1;
        for (let o = 0, i = first >>> 1; o <= last; o += ALIGN, i += step) {
          if (words[i] === SIZE && !examine(v, base, o, pageLen, pageAddress)) break scan;
        }
      } else {
        for (let o = 0; o <= last; o += ALIGN) {
          if (v.getUint16(base + o + SIZE_AT, true) === SIZE && !examine(v, base, o, pageLen, pageAddress)) break scan;
        }
      }
      done += pageLen;
      if (options.progress && done - reported >= 16 << 20) {
        reported = done;
        options.progress(done, total);
      }
    }
  }
  options.progress?.(total, total);

  // One block can be seen at several virtual addresses when its frames are mapped more than once
  // (a paged image's aliases): its candidates are one node, keyed by physical address, so that an
  // alias is pointed to whenever the block is, and a tree is walked once whatever the aliasing.
  const physical = image.physicalAddress?.bind(image);
  const keyOf = physical ? (a: bigint): bigint => (physical(a) ?? a) | (1n << 64n) : (a: bigint): bigint => a;
  const nodes = new Map<bigint, { candidate: Candidate; aliases: bigint[] }>();
  for (const [address, c] of cands) {
    const k = keyOf(address);
    const n = nodes.get(k);
    if (n) n.aliases.push(address);
    else nodes.set(k, { candidate: c, aliases: [address] });
  }
  const nodeOf = (a: bigint): { candidate: Candidate; aliases: bigint[] } | undefined => (cands.has(a) || physical ? nodes.get(keyOf(a)) : undefined);
  // Roots: blocks no other candidate points to.
  const pointedTo = new Set<bigint>();
  for (const c of cands.values()) {
    for (const p of [c.next, c.dep]) if (p !== 0n && nodeOf(p)) pointedTo.add(keyOf(p));
  }
  /**
   * The address a root is reported at: the alias in its tree's own mapping. A paged image lists
   * a table shared by several entries once (ranges() walks each table once), so the tree's own
   * mapping may not be among the scanned aliases: its links say where it is. For a link p to a
   * block scanned at a, each scanned alias r of the root shifted by p - a is a candidate address
   * (kept when it maps the same byte); the one nearest the link wins.
   */
  const homeOf = (node: { candidate: Candidate; aliases: bigint[] }): bigint => {
    const c = node.candidate;
    if (!physical) return node.aliases[0]!;
    const at = physical(node.aliases[0]!);
    const abs = (x: bigint): bigint => (x < 0n ? -x : x);
    let best = node.aliases[0]!;
    let bestDistance = -1n;
    for (const p of [c.next, c.dep]) {
      const target = p === 0n ? undefined : nodeOf(p);
      if (!target) continue;
      // A few aliases each way: a bound on the work for hostile tables.
      for (const a of target.aliases.slice(0, 8)) {
        for (const r of node.aliases.slice(0, 8)) {
          const v = r + (p - a);
          const d = abs(p - v);
          if ((bestDistance < 0n || d < bestDistance) && (v === r || physical(v) === at)) {
            best = v;
            bestDistance = d;
          }
        }
      }
    }
    return best;
  };
  const out: ScanCandidate[] = [];
  const visited = new Set<bigint>();
  for (const [key, node] of nodes) {
    if (pointedTo.has(key)) continue;
    const address = homeOf(node);
    const result: ScanCandidate = {
      address,
      blocks: 0,
      layers: { neighbor: 0, path: 0, tcp: 0 },
      roles: { placeholder: 0, linker: 0, 'new-offload': 0 },
      score: 0,
    };
    const stack: [bigint, number][] = [[address, 0]];
    while (stack.length) {
      const [a, layer] = stack.pop()!;
      const n = nodeOf(a);
      const k = n ? keyOf(a) : a;
      if (!n || visited.has(k)) {
        if (a !== 0n) result.score -= 2; // a link to something that is not a plausible block
        continue;
      }
      const c = n.candidate;
      visited.add(k);
      result.blocks++;
      result.layers[LAYERS[layer]!]++;
      result.roles[c.role]++;
      result.score += 1 + (c.stateOk ? 2 : 0) + (c.typeLayer === LAYERS[layer] ? 1 : 0) + (c.typeOk ? 0 : -1);
      if (c.next !== 0n) stack.push([c.next, layer]);
      if (c.dep !== 0n && layer < LAYERS.length - 1) stack.push([c.dep, layer + 1]);
      else if (c.dep !== 0n) result.score -= 2;
    }
    out.push(result);
  }
  return out.sort((a, b) => b.score - a.score || b.blocks - a.blocks || (a.address < b.address ? -1 : 1));
}
