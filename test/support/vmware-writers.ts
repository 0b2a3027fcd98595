/**
 * Writes synthetic address spaces (src/codec/dump-builder.ts) as VMware captures: a `.vmem` with
 * the RAM regions back to back and a state file (`.vmss`/`.vmsn`) whose `memory` group maps them
 * to guest physical pages and whose `cpu` group holds each CPU's CR64, among other groups and tags
 * of every shape (indices, blocks with padding, value sizes 1 to 8), for the tests of
 * src/capture/sources/vmware.ts. With `embedded`, the RAM is a `Memory` block of the state file.
 */
import type { AddressSpace } from '../../src/codec/dump-builder.js';
import { SerialisedImage } from '../../src/codec/dump-writer.js';
import { PAGE_SIZE } from '../../src/codec/physical.js';
import { CR4_X64, type RangeMode, type RangeSpec, rangesOf } from './capture-writers.js';

export interface VmwareOptions {
  ranges?: RangeMode | RangeSpec[];
  /** No regions at all: the .vmem is physical memory from 0, one to one. */
  oneToOne?: boolean;
  /** CR3 of each CPU (default: the space's DTB for one CPU). */
  cr3?: readonly bigint[];
  cr4?: bigint;
  /** CR64 as one 72-byte block per CPU (default) or as CR64[cpu][n] values. */
  crForm?: 'block' | 'values';
  /** The magic (default 0xbed2bed2); 0xbed0bed0 writes version 0, with 32-bit block sizes. */
  magic?: number;
  /** Bytes of padding before each block's data (default 3, to show the pad length is read). */
  pad?: number;
  /** The RAM inside the state file, as the `Memory` block of the memory group (no .vmem). */
  embedded?: boolean;
  /** Write the region tags in reverse region order, and the regions in the .vmem reversed too. */
  reverse?: boolean;
  /** cpu:numVCPUs (default: the number of CR3s). */
  numVCPUs?: number;
}

export interface VmwareCapture {
  state: SerialisedImage;
  /** Undefined with `embedded`. */
  vmem: SerialisedImage | undefined;
  /** Where each group's entry, tags and end are, by name. */
  groups: Map<string, { entry: number; tags: number; end: number }>;
  /** Where each tag starts (and its value), by "name[i][j]" within "group/". */
  tags: Map<string, { at: number; data: number }>;
}

interface TagSpec {
  name: string;
  indices?: number[];
  /** A number value of 1, 2, 4 or 8 bytes. */
  value?: { size: 1 | 2 | 4 | 8; n: bigint };
  /** A block: bytes (or only a length, the bytes being chunks written elsewhere). */
  block?: { bytes?: Uint8Array; length?: number; compressed?: boolean; align?: number };
}

const enc = new TextEncoder();

/** The state file and .vmem of a VMware capture of the space. */
export function writeVmware(space: AddressSpace, options: VmwareOptions = {}): VmwareCapture {
  const ranges = Array.isArray(options.ranges) ? options.ranges : rangesOf(space, options.ranges);
  const magic = options.magic ?? 0xbed2bed2;
  const wide = (magic & 0xf) !== 0;
  const pad = options.pad ?? 3;
  const cr3s = options.cr3 ?? [space.dtb];
  const cr4 = options.cr4 ?? CR4_X64;

  // The .vmem: each region's bytes back to back (reversed: the last region first).
  const order = options.reverse ? [...ranges].reverse() : ranges;
  const pageNum = new Map<RangeSpec, number>();
  let vmemPages = 0;
  for (const r of order) {
    pageNum.set(r, vmemPages);
    vmemPages += Math.ceil(r.length / PAGE_SIZE);
  }
  const ramChunks: { offset: number; bytes: Uint8Array }[] = [];
  let ramSize: number;
  if (options.oneToOne) {
    const top = ranges.reduce((m, r) => Math.max(m, r.physical + r.length), 0);
    for (const [pfn, bytes] of space.frames) if ((pfn + 1) * PAGE_SIZE <= top) ramChunks.push({ offset: pfn * PAGE_SIZE, bytes });
    ramSize = top;
  } else {
    for (const r of ranges) {
      const base = pageNum.get(r)! * PAGE_SIZE;
      for (const [pfn, bytes] of space.frames) {
        const p = pfn * PAGE_SIZE;
        if (p >= r.physical && p + PAGE_SIZE <= r.physical + r.length) ramChunks.push({ offset: base + p - r.physical, bytes });
      }
    }
    ramSize = vmemPages * PAGE_SIZE;
  }

  // The groups and their tags.
  const u32 = (n: number | bigint): TagSpec['value'] => ({ size: 4, n: BigInt(n) });
  const filler: TagSpec[] = [
    { name: 'Checkpoint_version', value: { size: 2, n: 8n } },
    { name: 'flag', value: { size: 1, n: 1n } },
    { name: 'matrix', indices: [1, 2, 3], value: { size: 8, n: 0x1122334455667788n } },
    { name: 'blob', block: { bytes: enc.encode('not memory') } },
    { name: 'packed', block: { bytes: new Uint8Array(24).fill(0xab), compressed: true } },
    { name: 'empty', value: undefined },
  ];
  const regionTags: TagSpec[] = [];
  if (!options.oneToOne) {
    regionTags.push({ name: 'regionsCount', value: u32(ranges.length) });
    const ks = ranges.map((_, k) => k);
    for (const k of options.reverse ? ks.reverse() : ks) {
      const r = ranges[k]!;
      regionTags.push({ name: 'regionPPN', indices: [k], value: u32(r.physical / PAGE_SIZE) });
      regionTags.push({ name: 'regionPageNum', indices: [k], value: u32(pageNum.get(r)!) });
      regionTags.push({ name: 'regionSize', indices: [k], value: u32(Math.ceil(r.length / PAGE_SIZE)) });
    }
  }
  const memoryTags: TagSpec[] = [
    { name: 'align_mask', value: u32(0xffff) },
    ...regionTags,
    ...(options.embedded ? [{ name: 'Memory', block: { length: ramSize, align: PAGE_SIZE } }] : []),
    { name: 'memUnsync', value: { size: 1, n: 0n } },
  ];
  const cpuTags: TagSpec[] = [{ name: 'cpu:numVCPUs', value: u32(options.numVCPUs ?? cr3s.length) }];
  cr3s.forEach((cr3, cpu) => {
    cpuTags.push({ name: 'rip', indices: [cpu], value: { size: 8, n: 0xfffff80312345678n } });
    if (options.crForm === 'values') {
      [0x80050033n, 0n, 0n, cr3, cr4].forEach((v, n) => cpuTags.push({ name: 'CR64', indices: [cpu, n], value: { size: 8, n: v } }));
    } else {
      const b = new Uint8Array(72);
      const v = new DataView(b.buffer);
      v.setBigUint64(0, 0x80050033n, true);
      v.setBigUint64(0x18, cr3, true);
      v.setBigUint64(0x20, cr4, true);
      cpuTags.push({ name: 'CR64', indices: [cpu], block: { bytes: b } });
    }
  });
  const groupSpecs: [string, TagSpec[]][] = [
    ['Checkpoint', filler],
    ['cpu', cpuTags],
    ['memory', memoryTags],
    ['Snapshot', filler.slice(0, 3)],
  ];

  // Lay the groups out after the header and the group table.
  const chunks: { offset: number; bytes: Uint8Array }[] = [];
  const groups = new Map<string, { entry: number; tags: number; end: number }>();
  const tags = new Map<string, { at: number; data: number }>();
  let at = 12 + groupSpecs.length * 80;
  const head = new Uint8Array(at);
  const hv = new DataView(head.buffer);
  hv.setUint32(0, magic, true);
  hv.setUint32(4, 1, true);
  hv.setUint32(8, groupSpecs.length, true);
  let memoryAt = 0;
  groupSpecs.forEach(([name, specs], g) => {
    const entry = 12 + g * 80;
    head.set(enc.encode(name), entry);
    const start = at;
    for (const t of specs) {
      const name8 = enc.encode(t.name);
      const idx = t.indices ?? [];
      const size = t.block ? (t.block.compressed ? 62 : 63) : (t.value?.size ?? 0);
      const fixed = 2 + name8.length + 4 * idx.length;
      const word = wide ? 8 : 4;
      const blockHead = t.block ? 2 * word + 2 : 0;
      const length = t.block ? (t.block.bytes?.length ?? t.block.length!) : size;
      const beforePad = at + fixed + blockHead;
      const padding = t.block ? (t.block.align ? (t.block.align - (beforePad % t.block.align)) % t.block.align : pad) : 0;
      const data = beforePad + padding;
      const b = new Uint8Array(fixed + blockHead + padding + (t.block?.bytes || t.value ? length : 0));
      const v = new DataView(b.buffer);
      b[0] = (idx.length << 6) | size;
      b[1] = name8.length;
      b.set(name8, 2);
      idx.forEach((i, n) => v.setUint32(2 + name8.length + 4 * n, i, true));
      if (t.block) {
        const o = fixed;
        if (wide) {
          v.setBigUint64(o, BigInt(length), true);
          v.setBigUint64(o + 8, BigInt(length), true);
        } else {
          v.setUint32(o, length, true);
          v.setUint32(o + 4, length, true);
        }
        v.setUint16(o + 2 * word, padding, true);
        if (t.block.bytes) b.set(t.block.bytes, fixed + blockHead + padding);
        else memoryAt = data;
      } else if (t.value) {
        const o = fixed;
        if (t.value.size === 1) v.setUint8(o, Number(t.value.n));
        else if (t.value.size === 2) v.setUint16(o, Number(t.value.n), true);
        else if (t.value.size === 4) v.setUint32(o, Number(t.value.n), true);
        else v.setBigUint64(o, t.value.n, true);
      }
      chunks.push({ offset: at, bytes: b });
      tags.set(`${name}/${t.name}${idx.map((i) => `[${i}]`).join('')}`, { at, data });
      at = data + length;
    }
    chunks.push({ offset: at, bytes: new Uint8Array(2) }); // the end tag
    at += 2;
    hv.setBigUint64(entry + 64, BigInt(start), true);
    hv.setBigUint64(entry + 72, BigInt(at - start), true);
    groups.set(name, { entry, tags: start, end: at });
  });
  chunks.unshift({ offset: 0, bytes: head });
  if (options.embedded) {
    for (const c of ramChunks) chunks.push({ offset: memoryAt + c.offset, bytes: c.bytes });
    return { state: new SerialisedImage(at, chunks), vmem: undefined, groups, tags };
  }
  return { state: new SerialisedImage(at, chunks), vmem: new SerialisedImage(ramSize, ramChunks), groups, tags };
}
