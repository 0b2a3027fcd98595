/**
 * What opening a capture gives: physical memory (the frame interface PagedImage reads through)
 * plus what a user needs to trust it: format and variant, machine, per-CPU control registers
 * where the format records them, the physical ranges and warnings.
 */
import type { ByteSource } from '../codec/physical.js';
import { type AbsentRange, type PhysicalRange, RangeMemory } from './physical-ranges.js';

export type CaptureFormat = 'lime' | 'elf-core' | 'vmware';

// The words every part of src/capture uses for a DTB: one type per concept, here at the bottom so
// that the sources, the address spaces, discovery and openCaptureImage all share them.

/** How virtual addresses are translated: x64 4-level, PAE 3-level, 32-bit 2-level; 'none' for regions. */
export type PagingMode = 'x64' | 'pae' | 'non-pae' | 'none';
/** Where a capture's DTB came from: --dtb, the format's header, a CPU note, the VMware state file, discovery. */
export type DtbSource = 'option' | 'header' | 'cpu-note' | 'state-file' | 'discovery';
/** How discovery (src/capture/dtb.ts) found a DTB: the x64 low stub's PROCESSOR_START_BLOCK, or a self-map scan. */
export type DtbDiscoveryMethod = 'low-stub' | 'self-map';

/** A capture's DTB and why it is the one. */
export interface DtbChoice {
  /** The table's physical address, flag and PCID bits masked (a PAE PDPT's is 32-byte aligned). */
  readonly value: bigint;
  readonly source: DtbSource;
  /** Why this one: "DUMP_HEADER64.DirectoryTableBase (file offset 0x10)", "CPU 1 of 2: maps KUSER_SHARED_DATA 0xfffff78000000000"... */
  readonly evidence: string;
  /** The CPU whose CR3 it is (source 'cpu-note'). */
  readonly cpu?: number;
  /** File offset of the field that holds it (source 'header': DirectoryTableBase; 'cpu-note': the note's CR3). */
  readonly fileOffset?: number;
  /** How discovery found it (source 'discovery', by the library's own search). */
  readonly method?: DtbDiscoveryMethod;
}

/** One CPU's paging registers, from a CPU-state note. */
export interface CpuState {
  /** Position among the CPU notes (0 = the first). */
  readonly index: number;
  /** CR3 as recorded, with its PCID or flag bits. */
  readonly cr3: bigint;
  /** CR3 with the bits that are not the table address masked: what `new PagedImage(source, dtb)` takes. */
  readonly dtb: bigint;
  /** CR4 when the note holds it (PAE is bit 5, PCIDE bit 17, LA57 bit 12). */
  readonly cr4: bigint | undefined;
  /** Which bits were masked, and why: "bits 51:12 (CR4.PCIDE: bits 11:0 are the PCID)". */
  readonly masked: string;
  /** File offset of the note's CR3 field. */
  readonly fileOffset: number;
}

export interface CaptureInfo {
  readonly format: CaptureFormat;
  /** "LiME version 1", "QEMU dump-guest-memory ELF64", "VirtualBox dumpvmcore ELF64 (VirtualBox 7.0.14 r161095)"... */
  readonly variant: string;
  /** From the ELF header; LiME does not say. */
  readonly machine: 'x64' | 'x86' | undefined;
  readonly cpus: readonly CpuState[];
  readonly ranges: readonly PhysicalRange[];
  readonly absent: readonly AbsentRange[];
  readonly warnings: readonly string[];
}

export interface OpenSourceOptions {
  /** Frames kept in the cache (default 256). */
  cacheFrames?: number;
}

/** An opened capture: `new PagedImage(capture, capture.cpus[0].dtb)` reads virtual memory through it. */
export class CaptureMemory extends RangeMemory implements CaptureInfo {
  readonly format: CaptureFormat;
  readonly variant: string;
  readonly machine: 'x64' | 'x86' | undefined;
  readonly cpus: readonly CpuState[];
  readonly warnings: readonly string[];

  constructor(source: ByteSource, info: CaptureInfo, options: OpenSourceOptions = {}) {
    super(source, info.ranges, info.absent, info.variant, options.cacheFrames);
    this.format = info.format;
    this.variant = info.variant;
    this.machine = info.machine;
    this.cpus = info.cpus;
    this.warnings = info.warnings;
  }

  /** CR4 bits 5 (PAE) and 17 (PCIDE) decide which CR3 bits are the table's address. */
  static maskCr3(cr3: bigint, cr4: bigint | undefined): { dtb: bigint; masked: string } {
    const low52 = cr3 & 0xfffffffffffffn;
    if (cr4 === undefined) return { dtb: low52 & ~0xfffn, masked: 'bits 51:12 (no CR4 in the note: assumed 4-level paging)' };
    if ((cr4 >> 17n) & 1n) return { dtb: low52 & ~0xfffn, masked: 'bits 51:12 (CR4.PCIDE: bits 11:0 are the PCID)' };
    if ((cr4 >> 5n) & 1n) return { dtb: low52 & ~0x1fn, masked: 'bits 51:5 (CR4.PAE: a 32-byte aligned PDPT, or PML4 with bits 4:3 as flags)' };
    return { dtb: cr3 & 0xfffff000n, masked: 'bits 31:12 (CR4.PAE clear: 32-bit paging)' };
  }
}
