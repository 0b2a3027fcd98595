/** Where the memory comes from: a region file at --base, or several --segment FILE@HEX. */
import { readFileSync } from 'node:fs';
import { type MemoryImage, type Segment, SegmentImage } from '../codec/image.js';
import { DecodeError, UsageError } from '../errors.js';
import { parseAddress } from './io.js';

export const SOURCE_OPTIONS = {
  base: { type: 'string' },
  segment: { type: 'string', multiple: true },
} as const;

export interface Source {
  image: MemoryImage;
  /** The address of the first byte of the first segment: the default root. */
  base: bigint;
  /** Segments as read, for commands that write a region back. */
  segments: Segment[];
}

export function readRegion(path: string, base: bigint): Segment {
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new DecodeError(0, `${path}: the file is empty`);
  return { base, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), name: path };
}

export function openSource(values: { base?: string; segment?: string[] }, positionals: string[]): Source {
  const segments: Segment[] = [];
  if (values.segment?.length) {
    if (positionals.length) throw new UsageError('give either IMAGE --base HEX or --segment FILE@HEX options, not both');
    for (const s of values.segment) {
      const at = s.lastIndexOf('@');
      if (at <= 0) throw new UsageError(`--segment: '${s}' is not FILE@HEX`);
      segments.push(readRegion(s.slice(0, at), parseAddress(s.slice(at + 1), '--segment')));
    }
  } else {
    if (positionals.length !== 1) throw new UsageError(`expected one IMAGE file, got ${positionals.length}`);
    if (values.base === undefined) throw new UsageError('--base HEX is required: the virtual address of the first byte of IMAGE');
    segments.push(readRegion(positionals[0]!, parseAddress(values.base, '--base')));
  }
  const image = new SegmentImage(segments);
  return { image, base: (image.segments[0] as Segment).base, segments: [...image.segments] };
}
