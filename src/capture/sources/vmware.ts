/**
 * VMware suspended states and snapshots: a `.vmem` holds the guest's RAM regions back to back,
 * and the state file beside it (`.vmss` for a suspended VM, `.vmsn` for a snapshot) says where
 * each region sits in guest physical memory and what each virtual CPU's control registers were.
 *
 * The state file (volatility3 `layers/vmware.py`, crash `vmware_vmss.c`): a 12-byte header
 * (magic, version, group count), then a table of 80-byte groups {name[64], tags offset u64,
 * size u64}. A group is a list of tags, each: flags u8 (bits 5:0 the value size, bits 7:6 the
 * number of indices), name length u8, the name, that many u32 indices, then the value. Value sizes
 * 62 and 63 mark a block (63 plain, 62 compressed): two sizes (u64, or u32 in version 0: bytes in
 * the file, bytes in memory), a u16 padding length, the padding, then the bytes. A tag of two zero
 * bytes ends the group.
 *
 * Group `memory`: `regionsCount`, and per region k `regionPPN[k]` (first guest physical page),
 * `regionPageNum[k]` (first page in the .vmem) and `regionSize[k]` (pages); no regions means the
 * .vmem is guest physical memory from 0, one to one. A `Memory` block there holds the RAM in the
 * state file itself (older snapshots), read when no .vmem is given. Group `cpu`: `CR64[cpu]`, a
 * block of cr0..cr8 (CR3 at +0x18, CR4 at +0x20), or `CR64[cpu][n]` values; `cpu:numVCPUs`.
 *
 * A `.vmem` alone is a raw image: nothing in its bytes says what it is. Finding the state file
 * beside it is by name, the one exception to recognising a format from its bytes:
 * `vmwareStateFileFor`.
 */
import type { ByteSource } from '../../codec/physical.js';
import { PAGE_SIZE } from '../../codec/physical.js';
import { CaptureError } from '../../errors.js';
import { PHYSICAL_LIMIT, type RangeCandidate, checkRanges, span } from '../physical-ranges.js';
import { type Reader, asByteSource, readAt } from '../reader.js';
import { CaptureMemory, type CpuState, type OpenSourceOptions } from '../source.js';

const FORMAT = 'VMware';
const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/**
 * The state file magics, as little-endian u32: 0xbed2bed2 (a checkpoint), 0xbed3bed3 (partial),
 * 0xbad1bad1 (restored), 0xbad2bad2 (not to be restored), 0xbed0bed0 and 0xbed2bed0 (version 0,
 * 32-bit sizes). The version is the first byte's low 4 bits.
 */
export const VMWARE_MAGICS: readonly number[] = [0xbed2bed2, 0xbed3bed3, 0xbad1bad1, 0xbad2bad2, 0xbed0bed0, 0xbed2bed0];
export const VMWARE_HEADER = { magic: 0x0, version: 0x4, groupCount: 0x8, size: 0xc } as const;
export const VMWARE_GROUP = { name: 0x0, nameLength: 64, tagsOffset: 0x40, size: 0x48, entrySize: 0x50 } as const;
/** CR64[cpu] as a block: cr0..cr8, 8 bytes each. */
export const VMWARE_CR64 = { cr3: 0x18, cr4: 0x20 } as const;
/** Value sizes that mark a block: plain, compressed. */
export const VMWARE_BLOCK = 63;
export const VMWARE_BLOCK_COMPRESSED = 62;
/** More groups than any state file has (a few dozen); past this the table is a lie. */
export const VMWARE_MAX_GROUPS = 4096;
/** More memory regions than any VM has (VMware writes one to three). */
export const VMWARE_MAX_REGIONS = 1 << 16;
/** More virtual CPUs than any VMware VM has (768 at most). */
export const VMWARE_MAX_CPUS = 4096;

/** Whether the bytes start like a VMware state file (.vmss or .vmsn): the magic only. */
export function isVmwareState(head: Uint8Array): boolean {
  return head.length >= 4 && VMWARE_MAGICS.includes(new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true));
}

const SUFFIX = /\.vmem$/i;

/**
 * The state files that may go with a `.vmem` (`guest.vmem`: `guest.vmss`, then `guest.vmsn`),
 * those for which `exists` says yes, in that order; none when the path does not end in `.vmem`.
 * The suffix keeps the case of the `.vmem`'s. Pure: `exists` is the only look at a file system.
 */
export function vmwareStateFileFor(vmemPath: string, exists: (path: string) => boolean): string[] {
  const m = SUFFIX.exec(vmemPath);
  if (!m) return [];
  const upper = m[0] === m[0].toUpperCase();
  const base = vmemPath.slice(0, m.index);
  return ['.vmss', '.vmsn'].map((s) => base + (upper ? s.toUpperCase() : s)).filter((p) => exists(p));
}

/** The `.vmem` that goes with a state file (`guest.vmss` or `guest.vmsn`: `guest.vmem`), when `exists` says it is there. */
export function vmwareMemoryFileFor(statePath: string, exists: (path: string) => boolean): string | undefined {
  const m = /\.vms[sn]$/i.exec(statePath);
  if (!m) return undefined;
  const path = statePath.slice(0, m.index) + (m[0] === m[0].toUpperCase() ? '.VMEM' : '.vmem');
  return exists(path) ? path : undefined;
}

/** One tag as read: where it is, its name and indices, where its value is and how long. */
interface Tag {
  readonly at: number;
  readonly name: string;
  readonly indices: readonly number[];
  /** File offset of the value (a block's bytes, after its padding). */
  readonly data: number;
  /** Bytes of the value in the file. */
  readonly length: number;
  readonly block: boolean;
  readonly compressed: boolean;
}

/** Reads a state file in windows of 64 KiB, so that walking tags costs a few reads, not one per tag. */
class Window {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  constructor(private readonly source: ByteSource) {}

  /** `length` bytes at `at` (the caller has checked they are inside the file). */
  get(at: number, length: number): DataView {
    if (at < this.start || at + length > this.start + this.bytes.length) {
      const r = readAt(this.source, at, Math.max(length, 0x10000));
      this.start = at;
      this.bytes = r.bytes.subarray(0, r.got);
      this.view = new DataView(r.bytes.buffer, 0, r.got);
    }
    return new DataView(this.view.buffer, at - this.start, length);
  }

  text(at: number, length: number): string {
    const v = this.get(at, length);
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(v.getUint8(i));
    return s;
  }
}

/** Walks one group's tags from `at` to `end`, checking each against the group's bytes. */
function* tagsOf(w: Window, group: string, at: number, end: number, wide: boolean): Generator<Tag> {
  for (;;) {
    if (end - at < 2) throw new CaptureError(FORMAT, at, `group "${group}" ends at ${hex(end)} before its end tag (two zero bytes)`);
    const head = w.get(at, 2);
    const flags = head.getUint8(0);
    const nameLength = head.getUint8(1);
    if (flags === 0 && nameLength === 0) return;
    const count = (flags >> 6) & 3;
    const size = flags & 0x3f;
    const fixed = 2 + nameLength + 4 * count;
    if (fixed > end - at) throw new CaptureError(FORMAT, at, `a tag's name (${nameLength} bytes) and ${count} indices overrun group "${group}" (${hex(end - at)} bytes left)`);
    const name = w.text(at + 2, nameLength);
    const iv = w.get(at + 2 + nameLength, 4 * count);
    const indices = Array.from({ length: count }, (_, i) => iv.getUint32(4 * i, true));
    const label = `${name}${indices.map((i) => `[${i}]`).join('')}`;
    let p = at + fixed;
    if (size === VMWARE_BLOCK || size === VMWARE_BLOCK_COMPRESSED) {
      const word = wide ? 8 : 4;
      if (2 * word + 2 > end - p) throw new CaptureError(FORMAT, p, `block tag "${label}"'s sizes overrun group "${group}"`);
      const v = w.get(p, 2 * word + 2);
      const stored = wide ? v.getBigUint64(0, true) : BigInt(v.getUint32(0, true));
      const pad = v.getUint16(2 * word, true);
      p += 2 * word + 2;
      if (pad > end - p || stored > BigInt(end - p - pad)) {
        throw new CaptureError(FORMAT, at + fixed, `block tag "${label}" of ${hex(stored)} bytes (after ${pad} bytes of padding) overruns group "${group}", which ends at ${hex(end)}`);
      }
      yield { at, name, indices, data: p + pad, length: Number(stored), block: true, compressed: size === VMWARE_BLOCK_COMPRESSED };
      at = p + pad + Number(stored);
    } else {
      if (size > end - p) throw new CaptureError(FORMAT, at, `tag "${label}"'s ${size}-byte value overruns group "${group}", which ends at ${hex(end)}`);
      yield { at, name, indices, data: p, length: size, block: false, compressed: false };
      at = p + size;
    }
  }
}

/** A value tag as a number (1, 2, 4 or 8 bytes); a 64-bit value past 2^53 is returned as Infinity. */
function numberOf(w: Window, t: Tag): number {
  const v = w.get(t.data, t.length);
  switch (t.length) {
    case 1:
      return v.getUint8(0);
    case 2:
      return v.getUint16(0, true);
    case 4:
      return v.getUint32(0, true);
    case 8: {
      const x = v.getBigUint64(0, true);
      return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : Infinity;
    }
    default:
      throw new CaptureError(FORMAT, t.at, `tag "${t.name}${t.indices.map((i) => `[${i}]`).join('')}" holds ${t.length} bytes, not a 1, 2, 4 or 8-byte number`);
  }
}

/** A value tag's number as written, for messages (a lie past 2^53 shows as it is). */
const rawOf = (w: Window, t: Tag): string => hex(t.length === 8 ? w.get(t.data, 8).getBigUint64(0, true) : numberOf(w, t));

const bigOf = (w: Window, at: number, length: 4 | 8): bigint => (length === 8 ? w.get(at, 8).getBigUint64(0, true) : BigInt(w.get(at, 4).getUint32(0, true)));

interface Group {
  readonly name: string;
  readonly entry: number;
  readonly tags: number;
  readonly end: number;
}

interface RegionTags {
  ppn?: Tag;
  pageNum?: Tag;
  size?: Tag;
}

interface CpuRegs {
  cr3?: { value: bigint; at: number };
  cr4?: bigint;
}

/**
 * Opens a VMware capture: `state` is the `.vmss` or `.vmsn`, `vmem` the `.vmem` beside it, or
 * undefined when the state file holds the memory itself. The state file's groups and tags are read
 * here; with a `.vmem` the state file is then closed (also when it lies), and the capture reads
 * guest physical memory from the .vmem through the regions. Its `cpus` are the CR3s of the `cpu`
 * group, each `fileOffset` being in the state file. `close()` closes the memory's reader.
 */
export function openVmware(state: Reader, vmem: Reader | undefined, options: OpenSourceOptions = {}): CaptureMemory {
  const src = asByteSource(state);
  try {
    return readState(src, vmem === undefined ? undefined : asByteSource(vmem), options);
  } finally {
    if (vmem !== undefined) src.close();
  }
}

function readState(src: ByteSource, vmem: ByteSource | undefined, options: OpenSourceOptions): CaptureMemory {
  const size = src.size;
  const h = readAt(src, 0, VMWARE_HEADER.size);
  if (h.got < VMWARE_HEADER.size) throw new CaptureError(FORMAT, h.got, `${src.name}: the state file header is cut short: ${h.got} of ${VMWARE_HEADER.size} bytes`);
  const magic = h.view.getUint32(VMWARE_HEADER.magic, true);
  if (!VMWARE_MAGICS.includes(magic)) {
    throw new CaptureError(FORMAT, VMWARE_HEADER.magic, `${src.name}: magic ${hex(magic)} is not a VMware state file's (${VMWARE_MAGICS.map(hex).join(', ')})`);
  }
  const version = h.bytes[0]! & 0xf;
  const wide = version !== 0;
  const count = h.view.getUint32(VMWARE_HEADER.groupCount, true);
  if (count > VMWARE_MAX_GROUPS) throw new CaptureError(FORMAT, VMWARE_HEADER.groupCount, `${count} groups: more than the ${VMWARE_MAX_GROUPS} any state file has`);
  if (count * VMWARE_GROUP.entrySize > size - VMWARE_HEADER.size) {
    throw new CaptureError(FORMAT, VMWARE_HEADER.groupCount, `${count} groups of ${VMWARE_GROUP.entrySize} bytes from ${hex(VMWARE_HEADER.size)} run past the end of the state file (${hex(size)} bytes)`);
  }
  const table = readAt(src, VMWARE_HEADER.size, count * VMWARE_GROUP.entrySize);
  const groups = new Map<string, Group>();
  for (let k = 0; k < count; k++) {
    const base = k * VMWARE_GROUP.entrySize;
    const entry = VMWARE_HEADER.size + base;
    const raw = table.bytes.subarray(base, base + VMWARE_GROUP.nameLength);
    const nul = raw.indexOf(0);
    const name = String.fromCharCode(...raw.subarray(0, nul < 0 ? raw.length : nul));
    const tags = table.view.getBigUint64(base + VMWARE_GROUP.tagsOffset, true);
    const bytes = table.view.getBigUint64(base + VMWARE_GROUP.size, true);
    if (tags > BigInt(size)) throw new CaptureError(FORMAT, entry + VMWARE_GROUP.tagsOffset, `group "${name}"'s tags offset ${hex(tags)} is past the end of the state file (${hex(size)} bytes)`);
    if (bytes > BigInt(size) - tags) {
      throw new CaptureError(FORMAT, entry + VMWARE_GROUP.size, `group "${name}" of ${hex(bytes)} bytes from ${hex(tags)} runs past the end of the state file (${hex(size)} bytes)`);
    }
    if ((name === 'memory' || name === 'cpu') && groups.has(name)) throw new CaptureError(FORMAT, entry, `a second group "${name}" (the first is at ${hex(groups.get(name)!.entry)})`);
    if (!groups.has(name)) groups.set(name, { name, entry, tags: Number(tags), end: Number(tags + bytes) });
  }
  const memory = groups.get('memory');
  if (!memory) throw new CaptureError(FORMAT, VMWARE_HEADER.groupCount, `${src.name} has no "memory" group: not a state file of a VM with memory`);

  const w = new Window(src);
  const warnings: string[] = [];

  // The memory group: the regions, and the RAM itself when the state file holds it.
  let regionsCount: Tag | undefined;
  let embedded: Tag | undefined;
  const regions = new Map<number, RegionTags>();
  for (const t of tagsOf(w, 'memory', memory.tags, memory.end, wide)) {
    const key = t.name === 'regionPPN' ? 'ppn' : t.name === 'regionPageNum' ? 'pageNum' : t.name === 'regionSize' ? 'size' : undefined;
    if (t.name === 'regionsCount' && t.indices.length === 0) {
      if (regionsCount) throw new CaptureError(FORMAT, t.at, `a second regionsCount tag (the first is at ${hex(regionsCount.at)})`);
      regionsCount = t;
    } else if (key && t.indices.length === 1) {
      const k = t.indices[0]!;
      if (k >= VMWARE_MAX_REGIONS) throw new CaptureError(FORMAT, t.at + 2 + t.name.length, `${t.name}[${k}]: a region index past the ${VMWARE_MAX_REGIONS} any VM has`);
      const r = regions.get(k) ?? {};
      if (r[key]) throw new CaptureError(FORMAT, t.at, `a second ${t.name}[${k}] tag (the first is at ${hex(r[key].at)})`);
      r[key] = t;
      regions.set(k, r);
    } else if (t.name === 'Memory' && t.block) {
      embedded = t;
    }
  }

  let memorySource: ByteSource;
  let memoryBase = 0;
  let memorySize: number;
  let memoryName: string;
  if (vmem) {
    memorySource = vmem;
    memorySize = vmem.size;
    memoryName = vmem.name;
    if (embedded) warnings.push(`the state file also holds a Memory block (at ${hex(embedded.data)}): ${vmem.name} is read instead`);
  } else {
    if (!embedded) throw new CaptureError(FORMAT, memory.entry, `${src.name}'s memory group holds no Memory block: the RAM is in the .vmem beside it; give both`);
    if (embedded.compressed) throw new CaptureError(FORMAT, embedded.at, `${src.name}'s Memory block is compressed, which is not read here: give the .vmem, or save the VM with its memory uncompressed`);
    memorySource = src;
    memoryBase = embedded.data;
    memorySize = embedded.length;
    memoryName = `the Memory block of ${src.name}`;
  }

  const candidates: RangeCandidate[] = [];
  const n = regionsCount ? numberOf(w, regionsCount) : 0;
  if (n > VMWARE_MAX_REGIONS) throw new CaptureError(FORMAT, regionsCount!.data, `regionsCount is ${n}: more than the ${VMWARE_MAX_REGIONS} regions any VM has`);
  for (let k = 0; k < n; k++) {
    const r = regions.get(k);
    const missing = !r?.ppn ? 'regionPPN' : !r.pageNum ? 'regionPageNum' : !r.size ? 'regionSize' : undefined;
    if (missing || !r) throw new CaptureError(FORMAT, regionsCount!.data, `regionsCount is ${n}, but region ${k} has no ${missing}[${k}] tag`);
    const ppn = numberOf(w, r.ppn!);
    const pageNum = numberOf(w, r.pageNum!);
    const pages = numberOf(w, r.size!);
    if (pages === 0) throw new CaptureError(FORMAT, r.size!.data, `region ${k}'s regionSize is 0 pages`);
    if (!(ppn * PAGE_SIZE < PHYSICAL_LIMIT)) throw new CaptureError(FORMAT, r.ppn!.data, `region ${k}'s regionPPN ${rawOf(w, r.ppn!)} is past the 52-bit physical address limit`);
    if (!(pages * PAGE_SIZE <= PHYSICAL_LIMIT - ppn * PAGE_SIZE)) throw new CaptureError(FORMAT, r.size!.data, `region ${k}'s regionSize ${rawOf(w, r.size!)} pages from page ${hex(ppn)} end past the 52-bit physical address limit`);
    const physical = ppn * PAGE_SIZE;
    const length = pages * PAGE_SIZE;
    const from = pageNum * PAGE_SIZE;
    if (!(from <= memorySize && length <= memorySize - from)) {
      const bytes = Number.isFinite(from) ? span(from, length) : `from page ${rawOf(w, r.pageNum!)}`;
      throw new CaptureError(FORMAT, r.size!.data, `region ${k} (physical ${span(physical, length)}) needs bytes ${bytes} of ${memoryName}, past its end (${hex(memorySize)} bytes): truncated or lying`);
    }
    candidates.push({ physical, fileOffset: memoryBase + from, length, physicalField: r.ppn!.data, lengthField: r.size!.data, label: `region ${k}` });
  }
  const extra = [...regions.keys()].filter((k) => k >= n);
  if (extra.length > 0) warnings.push(`region tags for ${extra.length} region(s) past regionsCount ${n} (${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', ...' : ''}) are ignored`);
  if (n === 0) {
    if (memorySize === 0) throw new CaptureError(FORMAT, regionsCount?.data ?? memory.entry, `no regions and ${memoryName} is empty: no memory`);
    candidates.push({ physical: 0, fileOffset: memoryBase, length: memorySize, physicalField: regionsCount?.data ?? memory.entry, lengthField: regionsCount?.data ?? memory.entry, label: 'the memory (no regions: one to one)' });
  }
  const sorted = candidates.every((c, i) => i === 0 || candidates[i - 1]!.physical <= c.physical);
  const ranges = checkRanges(FORMAT, candidates, memorySource.size, true);
  if (!sorted) warnings.push('the regions are not in physical address order (read in sorted order)');
  if (ranges.some((r) => r.physical % PAGE_SIZE !== 0 || r.length % PAGE_SIZE !== 0)) warnings.push(`${memoryName} is not a whole number of pages: the partial frame at its end reads as absent`);

  const cpus = readCpus(w, groups.get('cpu'), wide, warnings);
  const variant = `VMware checkpoint version ${version}${vmem ? '' : ' (memory in the state file)'}`;
  return new CaptureMemory(memorySource, { format: 'vmware', variant, machine: undefined, cpus, ranges, absent: [], warnings }, options);
}

/** The CR3 (and CR4) of each virtual CPU, from the `cpu` group. */
function readCpus(w: Window, group: Group | undefined, wide: boolean, warnings: string[]): CpuState[] {
  if (!group) {
    warnings.push('no "cpu" group: the state file records no CR3');
    return [];
  }
  const regs = new Map<number, CpuRegs>();
  let declared: number | undefined;
  const regsOf = (t: Tag): CpuRegs => {
    const cpu = t.indices[0]!;
    if (cpu >= VMWARE_MAX_CPUS) throw new CaptureError(FORMAT, t.at + 2 + t.name.length, `${t.name}[${cpu}]: a CPU index past the ${VMWARE_MAX_CPUS} any VM has`);
    const r = regs.get(cpu) ?? {};
    regs.set(cpu, r);
    return r;
  };
  const setCr3 = (t: Tag, r: CpuRegs, at: number, length: 4 | 8): void => {
    if (r.cr3) throw new CaptureError(FORMAT, t.at, `a second CR3 for CPU ${t.indices[0]} (the first is at ${hex(r.cr3.at)})`);
    r.cr3 = { value: bigOf(w, at, length), at };
  };
  for (const t of tagsOf(w, 'cpu', group.tags, group.end, wide)) {
    if (t.name === 'cpu:numVCPUs' && !t.block) declared = numberOf(w, t);
    if (t.name !== 'CR64') continue;
    if (t.block && t.indices.length === 1) {
      const r = regsOf(t);
      if (t.compressed) warnings.push(`CR64[${t.indices[0]}] at ${hex(t.at)} is a compressed block: its CR3 is not read`);
      else if (t.length < VMWARE_CR64.cr3 + 8) warnings.push(`CR64[${t.indices[0]}] at ${hex(t.at)} is ${t.length} bytes, too short to hold CR3 (at ${hex(VMWARE_CR64.cr3)}): skipped`);
      else {
        setCr3(t, r, t.data + VMWARE_CR64.cr3, 8);
        if (t.length >= VMWARE_CR64.cr4 + 8) r.cr4 = bigOf(w, t.data + VMWARE_CR64.cr4, 8);
      }
    } else if (!t.block && t.indices.length === 2 && (t.length === 8 || t.length === 4) && (t.indices[1] === 3 || t.indices[1] === 4)) {
      const r = regsOf(t);
      if (t.indices[1] === 3) setCr3(t, r, t.data, t.length);
      else r.cr4 = bigOf(w, t.data, t.length);
    }
  }
  const cpus: CpuState[] = [];
  for (const index of [...regs.keys()].sort((a, b) => a - b)) {
    const r = regs.get(index)!;
    if (!r.cr3) continue;
    const { dtb, masked } = CaptureMemory.maskCr3(r.cr3.value, r.cr4);
    if (r.cr4 !== undefined && (r.cr4 >> 12n) & 1n) warnings.push(`CPU ${index} has CR4.LA57 set: 5-level paging, which is rare and not read here`);
    cpus.push({ index, cr3: r.cr3.value, dtb, cr4: r.cr4, masked, fileOffset: r.cr3.at });
  }
  if (cpus.length === 0) warnings.push('the "cpu" group holds no CR64 tags: the state file records no CR3');
  else if (declared !== undefined && declared !== cpus.length) warnings.push(`cpu:numVCPUs is ${declared}, but ${cpus.length} CPUs' CR3s were read`);
  return cpus;
}
