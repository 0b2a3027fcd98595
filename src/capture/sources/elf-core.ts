/**
 * ELF cores of virtual machines: QEMU `dump-guest-memory` (and `virsh dump --memory-only`), ELF64
 * or ELF32, and VirtualBox `debugvm dumpvmcore`, ELF64. Each PT_LOAD maps physical memory
 * (p_paddr) to file bytes (p_offset, p_filesz); past p_filesz up to p_memsz reads as absent, and a
 * PT_LOAD with no file bytes (VirtualBox's MMIO ranges) only declares a hole. PT_NOTE segments
 * hold one CPU-state note per CPU: QEMU's `QEMU` notes (QEMUCPUState, CR3 at 0x1A0) and
 * VirtualBox's `VBCPU` notes (CR3 at 0x130, after a `VBCORE` note). With 0xFFFF (PN_XNUM)
 * program headers, the count is section header 0's sh_info.
 */
import type { ByteSource } from '../../codec/physical.js';
import { CaptureError } from '../../errors.js';
import { type AbsentRange, PHYSICAL_LIMIT, type RangeCandidate, checkRanges, span } from '../physical-ranges.js';
import { readAt } from '../reader.js';
import { CaptureMemory, type CpuState, type OpenSourceOptions } from '../source.js';

const FORMAT = 'ELF core';
const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
export const ET_CORE = 4;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PN_XNUM = 0xffff;
export const NT_PRSTATUS = 1;
export const NT_VBOXCORE = 0xb00;
export const NT_VBOXCPU = 0xb01;
export const VBCORE_MAGIC = 0xc01ac0de;

/** Field offsets of the ELF header, program header and section header, per class. */
export const ELF64 = {
  ehdr: { class: 4, data: 5, type: 0x10, machine: 0x12, phoff: 0x20, shoff: 0x28, phentsize: 0x36, phnum: 0x38, shentsize: 0x3a, size: 0x40 },
  phdr: { type: 0, offset: 0x08, paddr: 0x18, filesz: 0x20, memsz: 0x28, size: 0x38 },
  shdr: { info: 0x2c, size: 0x40 },
} as const;
export const ELF32 = {
  ehdr: { class: 4, data: 5, type: 0x10, machine: 0x12, phoff: 0x1c, shoff: 0x20, phentsize: 0x2a, phnum: 0x2c, shentsize: 0x2e, size: 0x34 },
  phdr: { type: 0, offset: 0x04, paddr: 0x0c, filesz: 0x10, memsz: 0x14, size: 0x20 },
  shdr: { info: 0x1c, size: 0x28 },
} as const;
/** QEMUCPUState (QEMU target/i386/arch_dump.c): version, size, then registers; cr[0..4] from 0x188. */
export const QEMU_CPU = { version: 0, size: 4, cr0: 0x188, cr3: 0x1a0, cr4: 0x1a8 } as const;
/** DBGFCOREDESCRIPTOR and DBGFCORECPU (VirtualBox include/VBox/vmm/dbgfcorefmt.h). */
export const VBOX_CORE = { magic: 0, formatVersion: 4, size: 8, vboxVersion: 12, vboxRevision: 16, cpus: 20, end: 24 } as const;
export const VBOX_CPU = { cr0: 0x120, cr3: 0x130, cr4: 0x138 } as const;

/** More program headers than any VM core has (one per RAM block); a larger count is a lie. */
export const ELF_MAX_PHDRS = 1 << 20;
/** Notes are a few hundred bytes per CPU: a larger note segment is not read. */
export const ELF_MAX_NOTES_BYTES = 1 << 24;

export function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && ELF_MAGIC.every((b, i) => head[i] === b);
}

interface NoteSegment {
  offset: number;
  size: number;
  sizeField: number;
  label: string;
}

/** Reads the ELF header, the program headers and the notes; checks every range against the file. */
export function openElfCore(source: ByteSource, options: OpenSourceOptions = {}): CaptureMemory {
  const size = source.size;
  const ident = readAt(source, 0, 6);
  if (ident.got < 6 || !isElf(ident.bytes)) throw new CaptureError(FORMAT, Math.min(ident.got, 4), 'no ELF identification (0x7F "ELF" and a class byte)');
  const cls = ident.bytes[4]!;
  if (cls !== 1 && cls !== 2) throw new CaptureError(FORMAT, 4, `EI_CLASS is ${cls}, not 1 (ELF32) or 2 (ELF64)`);
  if (ident.bytes[5] !== 1) throw new CaptureError(FORMAT, 5, `EI_DATA is ${ident.bytes[5]}, not 1 (little-endian): not an x86 core`);
  const L = cls === 2 ? ELF64 : ELF32;
  const elf = cls === 2 ? 'ELF64' : 'ELF32';
  const eh = readAt(source, 0, L.ehdr.size);
  if (eh.got < L.ehdr.size) throw new CaptureError(FORMAT, eh.got, `the ${elf} header is cut short: ${eh.got} of ${L.ehdr.size} bytes`);
  const v = eh.view;
  // A field of `width` bytes as a number; 64-bit values past 2^53 are lies about any file, kept as Infinity.
  const word = (view: DataView, at: number): number => {
    if (cls === 1) return view.getUint32(at, true);
    const x = view.getBigUint64(at, true);
    return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : Infinity;
  };
  // The field as written, for messages (a lie past 2^53 shows as it is, not as Infinity).
  const raw = (view: DataView, at: number): string => hex(cls === 1 ? view.getUint32(at, true) : view.getBigUint64(at, true));
  const type = v.getUint16(L.ehdr.type, true);
  if (type !== ET_CORE) throw new CaptureError(FORMAT, L.ehdr.type, `e_type is ${type}, not ET_CORE (4): an ELF file but not a core`);
  const em = v.getUint16(L.ehdr.machine, true);
  if (em !== EM_X86_64 && em !== EM_386) throw new CaptureError(FORMAT, L.ehdr.machine, `e_machine is ${em}, not EM_X86_64 (62) or EM_386 (3)`);
  const machine = em === EM_X86_64 ? 'x64' : 'x86';
  const phoff = word(v, L.ehdr.phoff);
  const phentsize = v.getUint16(L.ehdr.phentsize, true);
  if (phentsize !== L.phdr.size) throw new CaptureError(FORMAT, L.ehdr.phentsize, `e_phentsize is ${phentsize}, not ${L.phdr.size} for ${elf}`);

  // The program header count, from section header 0 when e_phnum is PN_XNUM.
  let count = v.getUint16(L.ehdr.phnum, true);
  let countField = L.ehdr.phnum;
  if (count === PN_XNUM) {
    const shoff = word(v, L.ehdr.shoff);
    const shentsize = v.getUint16(L.ehdr.shentsize, true);
    if (shentsize !== L.shdr.size) throw new CaptureError(FORMAT, L.ehdr.shentsize, `e_phnum is PN_XNUM but e_shentsize is ${shentsize}, not ${L.shdr.size}`);
    if (shoff === 0 || shoff > size - L.shdr.size) {
      throw new CaptureError(FORMAT, L.ehdr.shoff, `e_phnum is PN_XNUM, so section header 0 holds the count, but e_shoff ${raw(v, L.ehdr.shoff)} does not place it inside the file (${hex(size)} bytes)`);
    }
    countField = shoff + L.shdr.info;
    const sh = readAt(source, countField, 4);
    count = sh.view.getUint32(0, true);
  }
  if (count === 0) throw new CaptureError(FORMAT, countField, 'no program headers: a core with no memory');
  if (count > ELF_MAX_PHDRS) throw new CaptureError(FORMAT, countField, `${count} program headers: more than the ${ELF_MAX_PHDRS} any VM core has`);
  if (!(phoff <= size) || count * phentsize > size - phoff) {
    throw new CaptureError(FORMAT, countField, `${count} program headers of ${phentsize} bytes from e_phoff ${raw(v, L.ehdr.phoff)} run past the end of the file (${hex(size)} bytes)`);
  }

  const loads: RangeCandidate[] = [];
  const absent: AbsentRange[] = [];
  const notes: NoteSegment[] = [];
  const warnings: string[] = [];
  const CHUNK = 1024;
  for (let first = 0; first < count; first += CHUNK) {
    const n = Math.min(CHUNK, count - first);
    const table = readAt(source, phoff + first * phentsize, n * phentsize);
    for (let i = 0; i < n; i++) {
      const k = first + i;
      const base = i * phentsize;
      const at = phoff + k * phentsize;
      const ptype = table.view.getUint32(base + L.phdr.type, true);
      if (ptype !== PT_LOAD && ptype !== PT_NOTE) continue;
      const offset = word(table.view, base + L.phdr.offset);
      const filesz = word(table.view, base + L.phdr.filesz);
      const label = `${ptype === PT_LOAD ? 'PT_LOAD' : 'PT_NOTE'} (program header ${k})`;
      if (!(offset <= size) || filesz > size - offset) {
        throw new CaptureError(FORMAT, at + L.phdr.filesz, `${label} needs file bytes ${raw(table.view, base + L.phdr.offset)}+${raw(table.view, base + L.phdr.filesz)}, past the end of the file (${hex(size)} bytes): truncated or lying`);
      }
      if (ptype === PT_NOTE) {
        notes.push({ offset, size: filesz, sizeField: at + L.phdr.filesz, label });
        continue;
      }
      const paddr = word(table.view, base + L.phdr.paddr);
      const memsz = word(table.view, base + L.phdr.memsz);
      if (filesz > memsz) throw new CaptureError(FORMAT, at + L.phdr.filesz, `${label}'s p_filesz ${raw(table.view, base + L.phdr.filesz)} is larger than its p_memsz ${raw(table.view, base + L.phdr.memsz)}`);
      if (!(paddr < PHYSICAL_LIMIT)) throw new CaptureError(FORMAT, at + L.phdr.paddr, `${label}'s p_paddr ${raw(table.view, base + L.phdr.paddr)} is past the 52-bit physical address limit`);
      if (!(memsz <= PHYSICAL_LIMIT - paddr)) throw new CaptureError(FORMAT, at + L.phdr.memsz, `${label}'s p_memsz ${raw(table.view, base + L.phdr.memsz)} from ${hex(paddr)} ends past the 52-bit physical address limit`);
      if (filesz < memsz) {
        const why = filesz === 0 ? `${label} declares with no bytes in the file (MMIO, or not dumped)` : `${label} declares past its p_filesz`;
        absent.push({ physical: paddr + filesz, length: memsz - filesz, why });
      }
      if (filesz > 0) loads.push({ physical: paddr, fileOffset: offset, length: filesz, physicalField: at + L.phdr.paddr, lengthField: at + L.phdr.filesz, label });
    }
  }
  if (loads.length === 0) throw new CaptureError(FORMAT, countField, 'no PT_LOAD with bytes in the file: a core with no memory');
  const sorted = loads.every((r, i) => i === 0 || loads[i - 1]!.physical <= r.physical);
  const ranges = checkRanges(FORMAT, loads, size, true);
  if (!sorted) warnings.push('the PT_LOAD segments are not in physical address order (read in sorted order)');
  const partial = absent.filter((a) => !a.why.includes('no bytes'));
  if (partial.length > 0) warnings.push(`${partial.length} PT_LOAD segment(s) hold fewer bytes than they declare: ${partial.slice(0, 3).map((a) => span(a.physical, a.length)).join(', ')}${partial.length > 3 ? ', ...' : ''} read as absent`);

  const found = readNotes(source, notes, machine, warnings);
  const producer = found.vbox ? 'VirtualBox dumpvmcore' : found.qemu ? 'QEMU dump-guest-memory' : 'unknown producer';
  if (!found.vbox && !found.qemu) warnings.push('no QEMU or VirtualBox CPU-state notes: the core records no CR3');
  const variant = `${producer} ${elf}${found.vboxVersion ? ` (${found.vboxVersion})` : ''}`;
  return new CaptureMemory(source, { format: 'elf-core', variant, machine, cpus: found.cpus, ranges, absent: absent.sort((a, b) => a.physical - b.physical), warnings }, options);
}

interface Found {
  cpus: CpuState[];
  qemu: boolean;
  vbox: boolean;
  vboxVersion: string | undefined;
}

const NOTE_HEADER = 12;
const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function readNotes(source: ByteSource, segments: readonly NoteSegment[], machine: 'x64' | 'x86', warnings: string[]): Found {
  const out: Found = { cpus: [], qemu: false, vbox: false, vboxVersion: undefined };
  let vboxCpus: number | undefined;
  const decoder = new TextDecoder('latin1');
  for (const seg of segments) {
    if (seg.size > ELF_MAX_NOTES_BYTES) throw new CaptureError(FORMAT, seg.sizeField, `${seg.label} is ${hex(seg.size)} bytes: more than the ${hex(ELF_MAX_NOTES_BYTES)} CPU notes need`);
    const { bytes, view } = readAt(source, seg.offset, seg.size);
    let step = 4; // VirtualBox aligns its notes to 8 bytes, everyone else to 4
    for (let pos = 0; pos < seg.size; ) {
      const at = seg.offset + pos;
      if (seg.size - pos < NOTE_HEADER) throw new CaptureError(FORMAT, at, `note header cut short: ${seg.size - pos} of ${NOTE_HEADER} bytes left in ${seg.label}`);
      const namesz = view.getUint32(pos, true);
      const descsz = view.getUint32(pos + 4, true);
      const ntype = view.getUint32(pos + 8, true);
      if (namesz > seg.size - pos - NOTE_HEADER) throw new CaptureError(FORMAT, at, `note n_namesz ${hex(namesz)} overruns ${seg.label} (${hex(seg.size - pos - NOTE_HEADER)} bytes left)`);
      const name = decoder.decode(bytes.subarray(pos + NOTE_HEADER, pos + NOTE_HEADER + namesz)).replace(/\0+$/, '');
      if (pos === 0 && name === 'VBCORE') step = 8;
      const desc = pos + NOTE_HEADER + align(namesz, step);
      if (desc > seg.size || descsz > seg.size - desc) throw new CaptureError(FORMAT, at + 4, `note "${name}" n_descsz ${hex(descsz)} overruns ${seg.label}`);
      const d = new DataView(bytes.buffer, desc, descsz);
      const cpu = (cr0At: number, cr3At: number, cr4At: number, what: string): void => {
        if (descsz < cr3At + 8) {
          warnings.push(`${what} note at ${hex(at)} is ${hex(descsz)} bytes, too short to hold CR3 (at ${hex(cr3At)}): skipped`);
          return;
        }
        const cr3 = d.getBigUint64(cr3At, true);
        const cr4 = descsz >= cr4At + 8 ? d.getBigUint64(cr4At, true) : undefined;
        const { dtb, masked } = CaptureMemory.maskCr3(cr3, cr4);
        // CR0.ET (bit 4) is hardwired to 1 since the P6 (and QEMU sets it), so a CR0 of 0 was not recorded; one with PG (bit 31) clear ran without paging.
        const cr0 = d.getBigUint64(cr0At, true);
        if (cr0 !== 0n && !((cr0 >> 31n) & 1n)) warnings.push(`CPU ${out.cpus.length}'s CR0 ${hex(cr0)} has PG clear: paging was off (firmware, or no OS running), so its CR3 names no page table`);
        if (cr4 !== undefined && (cr4 >> 12n) & 1n) warnings.push(`CPU ${out.cpus.length} has CR4.LA57 set: 5-level paging, which is rare and not read here`);
        out.cpus.push({ index: out.cpus.length, cr3, dtb, cr4, masked, fileOffset: seg.offset + desc + cr3At });
      };
      if (name === 'QEMU' && ntype === 0) {
        out.qemu = true;
        const version = descsz >= 4 ? d.getUint32(QEMU_CPU.version, true) : 0;
        if (version !== 1) warnings.push(`QEMU CPU-state note at ${hex(at)} has version ${version}, not 1: its CR3 is read at the version 1 offset`);
        cpu(QEMU_CPU.cr0, QEMU_CPU.cr3, QEMU_CPU.cr4, 'QEMU CPU-state');
      } else if (name === 'VBCORE' && ntype === NT_VBOXCORE) {
        out.vbox = true;
        if (descsz < VBOX_CORE.end) warnings.push(`VBCORE note at ${hex(at)} is ${descsz} bytes, shorter than its ${VBOX_CORE.end}-byte descriptor`);
        else {
          const magic = d.getUint32(VBOX_CORE.magic, true);
          if (magic !== VBCORE_MAGIC) warnings.push(`VBCORE note at ${hex(at)} has magic ${hex(magic)}, not ${hex(VBCORE_MAGIC)}`);
          const ver = d.getUint32(VBOX_CORE.vboxVersion, true);
          out.vboxVersion = `VirtualBox ${ver >>> 24}.${(ver >>> 16) & 0xff}.${ver & 0xffff} r${d.getUint32(VBOX_CORE.vboxRevision, true)}`;
          vboxCpus = d.getUint32(VBOX_CORE.cpus, true);
        }
      } else if (name === 'VBCPU' && ntype === NT_VBOXCPU) {
        out.vbox = true;
        cpu(VBOX_CPU.cr0, VBOX_CPU.cr3, VBOX_CPU.cr4, 'VBCPU');
      }
      pos = desc + align(descsz, step);
    }
  }
  if (vboxCpus !== undefined && vboxCpus !== out.cpus.length) warnings.push(`the VBCORE note counts ${vboxCpus} CPUs, but ${out.cpus.length} VBCPU notes were read`);
  if (machine === 'x86') for (const c of out.cpus) if (c.cr3 > 0xffffffffn) warnings.push(`CPU ${c.index}'s CR3 ${hex(c.cr3)} does not fit 32 bits on an EM_386 core`);
  return out;
}
