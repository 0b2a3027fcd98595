/**
 * Opening a capture's physical memory: the format is recognised from its first bytes (never from
 * the file name), then the format's reader checks every header field before trusting it. A
 * matching magic followed by a bad header is an error, never a fall back to something else.
 */
import type { ByteSource } from '../codec/physical.js';
import { CaptureError } from '../errors.js';
import { type Reader, asByteSource, readAt } from './reader.js';
import type { CaptureMemory, OpenSourceOptions } from './source.js';
import { isElf, openElfCore } from './sources/elf-core.js';
import { isLime, openLime } from './sources/lime.js';

interface SourceFormat {
  readonly id: CaptureMemory['format'];
  /** Looks at the first bytes only; never throws. */
  sniff(head: Uint8Array): boolean;
  open(source: ByteSource, options: OpenSourceOptions): CaptureMemory;
}

/** The container formats, in the order they are tried. */
export const SOURCE_FORMATS: readonly SourceFormat[] = [
  { id: 'lime', sniff: isLime, open: openLime },
  { id: 'elf-core', sniff: isElf, open: openElfCore },
];

/** The format whose magic the reader starts with, or undefined. */
export function sniffSource(reader: Reader): CaptureMemory['format'] | undefined {
  const head = readAt(reader, 0, 16).bytes;
  return SOURCE_FORMATS.find((f) => f.sniff(head))?.id;
}

/**
 * Opens a LiME capture or an ELF core of a virtual machine read through `reader` (a file:
 * `openFileReader(path)`; a browser Worker: `new BlobReader(file)`). The result is physical memory
 * for `new PagedImage(capture, dtb)`; `close()` closes the reader.
 */
export function openCaptureSource(reader: Reader, options: OpenSourceOptions = {}): CaptureMemory {
  const source = asByteSource(reader);
  const head = readAt(source, 0, 16).bytes;
  const format = SOURCE_FORMATS.find((f) => f.sniff(head));
  if (!format) throw new CaptureError('capture', 0, `${reader.name} is neither a LiME capture ("EMiL") nor an ELF core (0x7F "ELF")`);
  return format.open(source, options);
}
