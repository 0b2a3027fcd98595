/**
 * The Worker's readers: a picked or dropped File (FileReaderSync over slices, BlobReader), and a
 * capture that `ndis-offload serve` offers over HTTP (synchronous range requests, which a
 * dedicated Worker may make). Either way nothing reads a whole file.
 */
import { BlobReader } from '../../capture/reader.js';
import type { ByteSource } from '../../codec/physical.js';
import { CaptureError, UsageError } from '../../errors.js';
import type { FileSource } from '../protocol.js';

/**
 * What every reader of this Worker has read, in all: requests, bytes, the largest request. The
 * Worker publishes it as `ndisOffloadWorkerIo` on its global scope for scripts driving the page
 * (the browser tests check that a 2 GiB dump is opened and browsed without reading the file).
 */
export interface IoTotals {
  reads: number;
  bytesRead: number;
  largestRead: number;
}

export const IO: IoTotals = { reads: 0, bytesRead: 0, largestRead: 0 };

function count(n: number): number {
  IO.reads++;
  IO.bytesRead += n;
  if (n > IO.largestRead) IO.largestRead = n;
  return n;
}

if (typeof (globalThis as { FileReaderSync?: unknown }).FileReaderSync === 'function') (globalThis as unknown as { ndisOffloadWorkerIo: IoTotals }).ndisOffloadWorkerIo = IO;

/** A File read slice by slice, counted in IO. */
class CountedBlobReader extends BlobReader {
  override read(into: Uint8Array, position: number): number {
    return count(super.read(into, position));
  }
}

/** The largest range asked for in one request (frames and tables are read whole, never byte by byte). */
const MAX_RANGE = 64 << 20;

interface SyncXhr {
  open(method: string, url: string, async: boolean): void;
  setRequestHeader(name: string, value: string): void;
  send(): void;
  responseType: string;
  readonly status: number;
  readonly response: ArrayBuffer | null;
}

/** A URL read with synchronous Range requests (a Worker only: the page's thread must not block). */
export class UrlReader implements ByteSource {
  reads = 0;
  bytesRead = 0;
  private open = true;

  constructor(
    readonly url: string,
    readonly name: string,
    readonly size: number,
  ) {}

  read(into: Uint8Array, position: number): number {
    if (!this.open) throw new UsageError(`${this.name} is closed`);
    if (!(position >= 0) || position >= this.size || into.length === 0) return 0;
    const end = Math.min(this.size, position + into.length, position + MAX_RANGE);
    const Xhr = (globalThis as unknown as { XMLHttpRequest: new () => SyncXhr }).XMLHttpRequest;
    const xhr = new Xhr();
    xhr.open('GET', this.url, false);
    xhr.responseType = 'arraybuffer';
    xhr.setRequestHeader('Range', `bytes=${position}-${end - 1}`);
    xhr.send();
    if (xhr.status !== 206 || !xhr.response) throw new CaptureError('capture', position, `${this.name}: the server answered ${xhr.status} to a range request at ${position}`);
    const got = new Uint8Array(xhr.response);
    const n = Math.min(got.length, end - position);
    into.set(got.subarray(0, n));
    this.reads++;
    this.bytesRead += n;
    return count(n);
  }

  close(): void {
    this.open = false;
  }
}

export function readerOf(source: FileSource): ByteSource {
  return source.kind === 'file' ? new CountedBlobReader(source.file) : new UrlReader(source.url, source.name, source.size);
}

export const sourceName = (source: FileSource): string => (source.kind === 'file' ? source.file.name : source.name);
