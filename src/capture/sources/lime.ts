/**
 * LiME captures (504ensicsLabs/LiME, `lime` format): per range a 32-byte header (magic
 * 0x4C694D45, bytes "EMiL"; version 1; s_addr and e_addr, both inclusive; 8 reserved bytes)
 * followed by the range's bytes, the next header right after. Ranges ascend and do not overlap.
 * LiME's `padded` format is a raw image (no headers) and its `raw` format loses the addresses:
 * neither is read here.
 */
import type { ByteSource } from '../../codec/physical.js';
import { CaptureError } from '../../errors.js';
import { PHYSICAL_LIMIT, type RangeCandidate, checkRanges } from '../physical-ranges.js';
import { readAt } from '../reader.js';
import { CaptureMemory, type OpenSourceOptions } from '../source.js';

export const LIME_MAGIC = 0x4c694d45;
export const LIME_HEADER = { Magic: 0x00, Version: 0x04, SAddr: 0x08, EAddr: 0x10, Reserved: 0x18, Size: 0x20 } as const;
/** More ranges than any machine has; past this the file is not a capture. */
export const LIME_MAX_RANGES = 1 << 16;

const FORMAT = 'LiME';
const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** Whether the file starts with a LiME range header (the magic only). */
export function isLime(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) === LIME_MAGIC;
}

/** Reads the range headers (one read each, never the data) and checks every range against the file. */
export function openLime(source: ByteSource, options: OpenSourceOptions = {}): CaptureMemory {
  const size = source.size;
  const ranges: RangeCandidate[] = [];
  let at = 0;
  while (at < size) {
    if (ranges.length === LIME_MAX_RANGES) throw new CaptureError(FORMAT, at, `more than ${LIME_MAX_RANGES} ranges: not a memory capture`);
    const h = readAt(source, at, LIME_HEADER.Size);
    const k = ranges.length;
    if (h.got < LIME_HEADER.Size) {
      throw new CaptureError(FORMAT, at + h.got, `range ${k}'s header is cut short: ${h.got} of ${LIME_HEADER.Size} bytes before the end of the file`);
    }
    const magic = h.view.getUint32(LIME_HEADER.Magic, true);
    if (magic !== LIME_MAGIC) {
      throw new CaptureError(FORMAT, at + LIME_HEADER.Magic, `range ${k}'s header magic is ${hex(magic)}, not ${hex(LIME_MAGIC)} ("EMiL"): the previous range's length is wrong or the file is not LiME`);
    }
    const version = h.view.getUint32(LIME_HEADER.Version, true);
    if (version !== 1) throw new CaptureError(FORMAT, at + LIME_HEADER.Version, `range ${k}'s header version is ${version}; only version 1 is known`);
    const s = h.view.getBigUint64(LIME_HEADER.SAddr, true);
    const e = h.view.getBigUint64(LIME_HEADER.EAddr, true);
    if (s >= BigInt(PHYSICAL_LIMIT)) throw new CaptureError(FORMAT, at + LIME_HEADER.SAddr, `range ${k}'s s_addr ${hex(s)} is past the 52-bit physical address limit`);
    if (e < s) throw new CaptureError(FORMAT, at + LIME_HEADER.EAddr, `range ${k}'s e_addr ${hex(e)} is before its s_addr ${hex(s)}`);
    if (e >= BigInt(PHYSICAL_LIMIT)) throw new CaptureError(FORMAT, at + LIME_HEADER.EAddr, `range ${k}'s e_addr ${hex(e)} is past the 52-bit physical address limit`);
    const length = Number(e - s) + 1; // e_addr is inclusive
    const data = at + LIME_HEADER.Size;
    ranges.push({ physical: Number(s), fileOffset: data, length, physicalField: at + LIME_HEADER.SAddr, lengthField: at + LIME_HEADER.EAddr, label: `range ${k}` });
    if (length > size - data) break; // checkRanges names it
    at = data + length;
  }
  if (ranges.length === 0) throw new CaptureError(FORMAT, 0, 'the file is empty: no range header');
  const checked = checkRanges(FORMAT, ranges, size, false);
  const warnings = checked.some((r) => r.physical % 4096 !== 0 || r.length % 4096 !== 0)
    ? ['some ranges do not start or end on a 4 KiB boundary: their partial frames read as absent']
    : [];
  return new CaptureMemory(source, { format: 'lime', variant: 'LiME version 1', machine: undefined, cpus: [], ranges: checked, absent: [], warnings }, options);
}
