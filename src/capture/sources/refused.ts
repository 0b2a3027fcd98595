/**
 * Captures this library does not read, recognised from their first bytes and refused by name with
 * a one-line way forward, so that a user is told what the file is and what to do instead of
 * "not a capture" (or, worse, a raw image that decodes to nothing).
 *
 * - kdump-compressed (`KDUMP   `, and the older `DISKDUMP`, at 0: makedumpfile's disk_dump_header),
 *   as `makedumpfile` and QEMU's `dump-guest-memory -z/-l/-s` (`virsh dump --format=kdump-*`) write;
 * - makedumpfile's flattened format (`makedumpfile` NUL-padded to 16 bytes, then the big-endian
 *   type and version), which QEMU writes for its kdump formats unless asked to reassemble;
 * - Windows hibernation files (hiberfil.sys: `hibr`, `HIBR`, `wake`, `WAKE` or `RSTR` at 0);
 * - AVML's compressed captures (magic 0x4C4D5641, the bytes `AVML`, then version 2);
 * - user-mode minidumps (`MDMP`), with the dump reader's own message (src/codec/dump.ts).
 *
 * Hyper-V saved states (`.vmrs`, or `.bin` + `.vsv`) have no signature verified in public sources:
 * nothing here recognises them from their bytes. `refusalForName` gives the advice for those names,
 * for a caller to add to its "not recognised" message; it never decides a format.
 */
import { MINIDUMP_REFUSAL } from '../../codec/dump.js';
import { CaptureError } from '../../errors.js';

export interface Refusal {
  /** Short name, the CaptureError's `format`: "kdump-compressed", "hibernation"... */
  readonly format: string;
  /** What the file is, as a noun phrase: "a Windows hibernation file (hiberfil.sys)". */
  readonly what: string;
  /** The way forward, one line: what to capture or convert instead. */
  readonly advice: string;
  /** Where the signature that gave it away is. */
  readonly fileOffset: number;
}

/** Bytes of the head `recogniseRefused` looks at. */
export const REFUSED_HEAD_BYTES = 16;

const ELF_AGAIN = 'capture it again as an ELF core (virsh dump --memory-only --format=elf DOMAIN FILE, or the QEMU monitor\'s dump-guest-memory FILE without -z, -l or -s)';

export const KDUMP_REFUSAL = {
  format: 'kdump-compressed',
  what: 'a kdump-compressed dump (makedumpfile, or QEMU dump-guest-memory -z/-l/-s), whose pages are compressed',
  advice: ELF_AGAIN,
} as const;
export const FLATTENED_REFUSAL = {
  format: 'makedumpfile-flattened',
  what: "makedumpfile's flattened format (makedumpfile -F, or QEMU's kdump formats), a compressed dump in transport order",
  advice: `${ELF_AGAIN}; makedumpfile -R only rearranges it into a kdump-compressed dump, also refused`,
} as const;
export const HIBERNATION_REFUSAL = {
  format: 'hibernation',
  what: 'a Windows hibernation file (hiberfil.sys), whose pages are compressed',
  advice: "capture the running machine's memory with WinPmem or DumpIt instead, or decompress it to a raw image (Comae Hibr2Bin) and open that as a raw image",
} as const;
export const AVML_REFUSAL = {
  format: 'AVML',
  what: 'a compressed AVML capture (snappy frames inside LiME headers)',
  advice: 'convert it to LiME with avml-convert FILE memory.lime (or capture with avml without --compress) and open that',
} as const;
export const MINIDUMP_REFUSAL_ENTRY = {
  format: 'minidump',
  what: 'a user-mode minidump (MDMP)',
  advice: MINIDUMP_REFUSAL,
} as const;
export const HYPERV_REFUSAL = {
  format: 'Hyper-V saved state',
  what: 'a Hyper-V saved state (.vmrs, or .bin + .vsv), by its name',
  advice: 'convert it to a crash dump with vm2dmp, or write a dump inside the guest (Startup and Recovery, or a kernel debugger\'s .dump /f)',
} as const;

const ascii = (head: Uint8Array, at: number, length: number): string => String.fromCharCode(...head.subarray(at, at + length));
const HIBERNATION_SIGNATURES = new Set(['hibr', 'HIBR', 'wake', 'WAKE', 'RSTR']);
const AVML_MAGIC = 0x4c4d5641;

/** The refused format the bytes start with, or undefined (then the file may be anything else). */
export function recogniseRefused(head: Uint8Array): Refusal | undefined {
  const at0 = (r: Omit<Refusal, 'fileOffset'>): Refusal => ({ ...r, fileOffset: 0 });
  if (head.length >= 8 && (ascii(head, 0, 8) === 'KDUMP   ' || ascii(head, 0, 8) === 'DISKDUMP')) return at0(KDUMP_REFUSAL);
  if (head.length >= 13 && ascii(head, 0, 12) === 'makedumpfile' && head[12] === 0) return at0(FLATTENED_REFUSAL);
  if (head.length >= 4 && HIBERNATION_SIGNATURES.has(ascii(head, 0, 4))) return at0(HIBERNATION_REFUSAL);
  if (head.length >= 8) {
    const v = new DataView(head.buffer, head.byteOffset, 8);
    if (v.getUint32(0, true) === AVML_MAGIC && v.getUint32(4, true) === 2) return at0(AVML_REFUSAL);
  }
  if (head.length >= 4 && ascii(head, 0, 4) === 'MDMP') return at0(MINIDUMP_REFUSAL_ENTRY);
  return undefined;
}

/** The advice for a file that nothing recognised but whose name says Hyper-V (.vmrs, .vsv): a hint, never a format. */
export function refusalForName(name: string): Refusal | undefined {
  return /\.(vmrs|vsv)$/i.test(name) ? { ...HYPERV_REFUSAL, fileOffset: 0 } : undefined;
}

/** The one-line error for a refused file: "<format> @0x0: NAME is WHAT: ADVICE". */
export function refusalError(refusal: Refusal, name: string): CaptureError {
  return new CaptureError(refusal.format, refusal.fileOffset, `${name} is ${refusal.what}: ${refusal.advice}`);
}

/** Throws the refusal's CaptureError when the head is a refused format; returns otherwise. */
export function refuseKnown(head: Uint8Array, name: string): void {
  const r = recogniseRefused(head);
  if (r) throw refusalError(r, name);
}
