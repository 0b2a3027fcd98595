/**
 * Writes synthetic address spaces (src/codec/dump-builder.ts) as LiME captures and as ELF cores of
 * virtual machines (QEMU dump-guest-memory ELF64/ELF32, VirtualBox dumpvmcore), for the tests of
 * src/capture. The physical ranges are the space's RAM runs or, with `ranges: 'frames'`, only the
 * stretches of frames that hold something (many ranges, gaps between them, a small file).
 */
import type { AddressSpace } from '../../src/codec/dump-builder.js';
import { SerialisedImage } from '../../src/codec/dump-writer.js';
import { PAGE_SIZE } from '../../src/codec/physical.js';

export interface RangeSpec {
  /** First physical byte. */
  physical: number;
  /** Bytes stored in the file. */
  length: number;
}

export type RangeMode = 'runs' | 'frames';

/** The physical ranges a capture of the space stores, ascending. */
export function rangesOf(space: AddressSpace, mode: RangeMode = 'runs'): RangeSpec[] {
  if (mode === 'runs') return space.runs.map((r) => ({ physical: r.basePage * PAGE_SIZE, length: r.pageCount * PAGE_SIZE }));
  const pfns = [...space.frames.keys()].sort((a, b) => a - b);
  const out: RangeSpec[] = [];
  for (const p of pfns) {
    const last = out[out.length - 1];
    if (last && last.physical + last.length === p * PAGE_SIZE) last.length += PAGE_SIZE;
    else out.push({ physical: p * PAGE_SIZE, length: PAGE_SIZE });
  }
  return out;
}

/** The space's frames inside `r`, as chunks at `fileOffset` + their place in the range. */
function frameChunks(space: AddressSpace, r: RangeSpec, fileOffset: number): { offset: number; bytes: Uint8Array }[] {
  const out: { offset: number; bytes: Uint8Array }[] = [];
  for (const [pfn, bytes] of space.frames) {
    const p = pfn * PAGE_SIZE;
    if (p >= r.physical && p + PAGE_SIZE <= r.physical + r.length) out.push({ offset: fileOffset + p - r.physical, bytes });
  }
  return out;
}

/** A LiME capture (`lime` format, version 1): per range a 32-byte header, then the bytes. */
export function writeLime(space: AddressSpace, options: { ranges?: RangeMode | RangeSpec[] } = {}): SerialisedImage {
  const ranges = Array.isArray(options.ranges) ? options.ranges : rangesOf(space, options.ranges);
  const chunks: { offset: number; bytes: Uint8Array }[] = [];
  let at = 0;
  for (const r of ranges) {
    const h = new Uint8Array(32);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x4c694d45, true);
    v.setUint32(4, 1, true);
    v.setBigUint64(8, BigInt(r.physical), true);
    v.setBigUint64(16, BigInt(r.physical + r.length - 1), true); // inclusive
    chunks.push({ offset: at, bytes: h });
    chunks.push(...frameChunks(space, r, at + 32));
    at += 32 + r.length;
  }
  return new SerialisedImage(at, chunks);
}

export interface ElfCoreOptions {
  producer?: 'qemu' | 'virtualbox';
  elfClass?: 64 | 32;
  ranges?: RangeMode | RangeSpec[];
  /** CR3 of each CPU (default: the space's DTB for one CPU). */
  cr3?: readonly bigint[];
  /** CR4 of every CPU (default CR4_X64). */
  cr4?: bigint;
  /** Write e_phnum = PN_XNUM and the count in section header 0's sh_info. */
  xnum?: boolean;
  /** PT_LOADs with p_filesz 0 (VirtualBox's MMIO ranges). */
  mmio?: readonly RangeSpec[];
  /** Extra bytes of p_memsz past p_filesz on the last PT_LOAD. */
  tail?: number;
  /** Write the PT_LOADs in reverse physical order. */
  reverse?: boolean;
}

/** CR4 of a Windows x64 guest: PAE (5), PGE (7), OSFXSR (9), PCIDE (17), OSXSAVE (18). */
export const CR4_X64 = (1n << 5n) | (1n << 7n) | (1n << 9n) | (1n << 17n) | (1n << 18n);
export const QEMU_NOTE_SIZE = 0x1b8;
export const VBCPU_NOTE_SIZE = 0x2d0;

interface Note {
  name: string;
  type: number;
  desc: Uint8Array;
}

function notesBytes(notes: readonly Note[], align: number): Uint8Array {
  const pad = (n: number): number => Math.ceil(n / align) * align;
  const parts: Uint8Array[] = [];
  for (const n of notes) {
    const name = new TextEncoder().encode(`${n.name}\0`);
    const b = new Uint8Array(12 + pad(name.length) + pad(n.desc.length));
    const v = new DataView(b.buffer);
    v.setUint32(0, name.length, true);
    v.setUint32(4, n.desc.length, true);
    v.setUint32(8, n.type, true);
    b.set(name, 12);
    b.set(n.desc, 12 + pad(name.length));
    parts.push(b);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

function cpuNotes(options: ElfCoreOptions, cr3s: readonly bigint[]): { notes: Note[]; align: number } {
  const cr4 = options.cr4 ?? CR4_X64;
  if (options.producer === 'virtualbox') {
    const core = new Uint8Array(24);
    const cv = new DataView(core.buffer);
    cv.setUint32(0, 0xc01ac0de, true);
    cv.setUint32(4, 0x00010000, true);
    cv.setUint32(8, 24, true);
    cv.setUint32(12, (7 << 24) | (0 << 16) | 14, true); // 7.0.14
    cv.setUint32(16, 161095, true);
    cv.setUint32(20, cr3s.length, true);
    const cpus = cr3s.map((cr3) => {
      const d = new Uint8Array(VBCPU_NOTE_SIZE);
      const v = new DataView(d.buffer);
      v.setBigUint64(0x120, 0x80050033n, true); // cr0
      v.setBigUint64(0x130, cr3, true);
      v.setBigUint64(0x138, cr4, true);
      return { name: 'VBCPU', type: 0xb01, desc: d };
    });
    return { notes: [{ name: 'VBCORE', type: 0xb00, desc: core }, ...cpus], align: 8 };
  }
  // QEMU: every CPU's NT_PRSTATUS first, then every CPU's QEMU note (dump/dump.c).
  const prstatus = cr3s.map(() => ({ name: 'CORE', type: 1, desc: new Uint8Array(options.elfClass === 32 ? 144 : 336) }));
  const qemu = cr3s.map((cr3) => {
    const d = new Uint8Array(QEMU_NOTE_SIZE);
    const v = new DataView(d.buffer);
    v.setUint32(0, 1, true);
    v.setUint32(4, QEMU_NOTE_SIZE, true);
    v.setBigUint64(0x188, 0x80050033n, true); // cr0
    v.setBigUint64(0x1a0, cr3, true);
    v.setBigUint64(0x1a8, cr4, true);
    return { name: 'QEMU', type: 0, desc: d };
  });
  return { notes: [...prstatus, ...qemu], align: 4 };
}

/** An ELF core as QEMU's dump-guest-memory or VirtualBox's dumpvmcore writes it. */
export function writeElfCore(space: AddressSpace, options: ElfCoreOptions = {}): SerialisedImage {
  const is64 = (options.elfClass ?? 64) === 64;
  const ranges = Array.isArray(options.ranges) ? options.ranges : rangesOf(space, options.ranges);
  const { notes, align } = cpuNotes(options, options.cr3 ?? [space.dtb]);
  const noteBytes = notesBytes(notes, align);
  const ehsize = is64 ? 0x40 : 0x34;
  const phentsize = is64 ? 0x38 : 0x20;
  const shentsize = is64 ? 0x40 : 0x28;
  const loads = [...ranges.map((r) => ({ ...r, memsz: r.length })), ...(options.mmio ?? []).map((r) => ({ physical: r.physical, length: 0, memsz: r.length }))];
  loads.sort((a, b) => a.physical - b.physical);
  if (options.tail) loads[loads.length - 1 - (options.mmio?.length ?? 0)]!.memsz += options.tail;
  if (options.reverse) loads.reverse();
  const phnum = 1 + loads.length;
  const phoff = ehsize;
  const shoff = options.xnum ? phoff + phnum * phentsize : 0;
  const notesAt = (options.xnum ? shoff + shentsize : phoff + phnum * phentsize) + 8;
  let data = Math.ceil((notesAt + noteBytes.length) / PAGE_SIZE) * PAGE_SIZE;

  const head = new Uint8Array(notesAt);
  const v = new DataView(head.buffer);
  head.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
  v.setUint16(0x10, 4, true); // ET_CORE
  v.setUint16(0x12, is64 ? 62 : 3, true);
  v.setUint32(0x14, 1, true);
  const word = (at: number, x: number): void => (is64 ? v.setBigUint64(at, BigInt(x), true) : v.setUint32(at, x, true));
  word(is64 ? 0x20 : 0x1c, phoff);
  word(is64 ? 0x28 : 0x20, shoff);
  v.setUint16(is64 ? 0x34 : 0x28, ehsize, true);
  v.setUint16(is64 ? 0x36 : 0x2a, phentsize, true);
  v.setUint16(is64 ? 0x38 : 0x2c, options.xnum ? 0xffff : phnum, true);
  v.setUint16(is64 ? 0x3a : 0x2e, options.xnum ? shentsize : 0, true);
  v.setUint16(is64 ? 0x3c : 0x30, options.xnum ? 1 : 0, true);
  if (options.xnum) v.setUint32(shoff + (is64 ? 0x2c : 0x1c), phnum, true);
  const phdr = (k: number, type: number, offset: number, paddr: number, filesz: number, memsz: number): void => {
    const at = phoff + k * phentsize;
    v.setUint32(at, type, true);
    if (is64) {
      v.setUint32(at + 4, type === 1 ? 7 : 0, true);
      word(at + 0x08, offset);
      word(at + 0x18, paddr);
      word(at + 0x20, filesz);
      word(at + 0x28, memsz);
      word(at + 0x30, type === 1 ? PAGE_SIZE : 0);
    } else {
      word(at + 0x04, offset);
      word(at + 0x0c, paddr);
      word(at + 0x10, filesz);
      word(at + 0x14, memsz);
      v.setUint32(at + 0x18, type === 1 ? 7 : 0, true);
      word(at + 0x1c, type === 1 ? PAGE_SIZE : 0);
    }
  };
  phdr(0, 4, notesAt, 0, noteBytes.length, noteBytes.length);
  const chunks: { offset: number; bytes: Uint8Array }[] = [{ offset: 0, bytes: head }, { offset: notesAt, bytes: noteBytes }];
  loads.forEach((r, i) => {
    phdr(1 + i, 1, r.length > 0 ? data : 0, r.physical, r.length, r.memsz);
    if (r.length > 0) {
      chunks.push(...frameChunks(space, r, data));
      data += r.length;
    }
  });
  return new SerialisedImage(data, chunks);
}
