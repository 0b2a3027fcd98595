/**
 * The synchronous random-access reader every capture is read through: a positional read, the
 * size, a name and close. The same format code runs in Node (a file descriptor and fs.readSync,
 * `FileSource` of src/codec/physical.ts) and in a browser Worker (a `File` sliced and read with
 * `FileReaderSync`), and never reads a whole file: formats read their headers and tables, then
 * frames on demand through the frame cache.
 */
import { BufferSource, type ByteSource, FileSource } from '../codec/physical.js';
import { UsageError } from '../errors.js';

export interface Reader {
  readonly name: string;
  readonly size: number;
  /** Reads up to `into.length` bytes at `position`; returns how many were read (short at the end). */
  read(into: Uint8Array, position: number): number;
  close(): void;
}

/** A file opened read-only through node:fs (loaded on first use, so the library still bundles for a browser). */
export function openFileReader(path: string): ByteSource {
  return new FileSource(path);
}

/** Bytes already in memory. */
export function bufferReader(bytes: Uint8Array, name = 'buffer'): ByteSource {
  return new BufferSource(bytes, name);
}

// The few DOM shapes used, declared here so that the library compiles without the DOM types.
/** A `Blob` or `File`: only `size`, `slice` and (for a File) `name` are used. */
export interface BlobLike {
  readonly size: number;
  readonly name?: string;
  slice(start?: number, end?: number): BlobLike;
}
/** A Worker's `FileReaderSync`. */
export interface FileReaderSyncLike {
  readAsArrayBuffer(blob: BlobLike): ArrayBuffer;
}
type FileReaderSyncConstructor = new () => FileReaderSyncLike;

/**
 * A Blob or File in a browser Worker, read slice by slice with FileReaderSync (one copy per read:
 * callers read whole frames or tables, never byte by byte). Outside a Worker pass `fileReader`.
 */
export class BlobReader implements ByteSource {
  readonly name: string;
  readonly size: number;
  reads = 0;
  bytesRead = 0;
  private blob: BlobLike | undefined;
  private readonly fileReader: FileReaderSyncLike;

  constructor(blob: BlobLike, options: { name?: string; fileReader?: FileReaderSyncLike } = {}) {
    this.blob = blob;
    this.size = blob.size;
    this.name = options.name ?? blob.name ?? 'blob';
    const Sync = (globalThis as { FileReaderSync?: FileReaderSyncConstructor }).FileReaderSync;
    if (options.fileReader) this.fileReader = options.fileReader;
    else if (Sync) this.fileReader = new Sync();
    else throw new UsageError('reading a Blob synchronously needs FileReaderSync (a browser Worker): pass options.fileReader elsewhere');
  }

  read(into: Uint8Array, position: number): number {
    if (this.blob === undefined) throw new UsageError(`${this.name} is closed`);
    if (!(position >= 0) || position >= this.size || into.length === 0) return 0;
    const end = Math.min(this.size, position + into.length);
    const got = new Uint8Array(this.fileReader.readAsArrayBuffer(this.blob.slice(position, end)));
    const n = Math.min(got.length, end - position);
    into.set(got.subarray(0, n));
    this.reads++;
    this.bytesRead += n;
    return n;
  }

  close(): void {
    this.blob = undefined;
  }
}

/** Any Reader as the counted ByteSource the frame cache reads through. */
export function asByteSource(reader: Reader): ByteSource {
  if ('reads' in reader && 'bytesRead' in reader) return reader as ByteSource;
  const counted = {
    name: reader.name,
    size: reader.size,
    reads: 0,
    bytesRead: 0,
    read(into: Uint8Array, position: number): number {
      const n = reader.read(into, position);
      counted.reads++;
      counted.bytesRead += n;
      return n;
    },
    close: () => reader.close(),
  };
  return counted;
}

/**
 * Reads exactly `length` bytes at `position`, or returns the count that was there (less when the
 * file ends first): format code turns a short count into a CaptureError naming the offset.
 */
export function readAt(reader: Reader, position: number, length: number): { bytes: Uint8Array; view: DataView; got: number } {
  const bytes = new Uint8Array(length);
  const got = position >= 0 && position < reader.size ? reader.read(bytes, position) : 0;
  return { bytes, view: new DataView(bytes.buffer), got };
}
