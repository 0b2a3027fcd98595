/** A browser Worker's File and FileReaderSync, over bytes, for the BlobReader tests. */
import type { BlobLike, FileReaderSyncLike } from '../../src/capture/index.js';

/** A Blob over bytes; `slices` records the size of every slice taken (of it or of its slices). */
export class FakeBlob implements BlobLike {
  constructor(
    readonly bytes: Uint8Array,
    readonly name?: string,
    readonly slices: number[] = [],
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  slice(start = 0, end = this.bytes.length): FakeBlob {
    this.slices.push(end - start);
    return new FakeBlob(this.bytes.slice(start, end), undefined, this.slices);
  }
}

/** A FileReaderSync that copies the slices it reads, counting them. */
export function fakeFileReader(): FileReaderSyncLike & { sliced: number } {
  return {
    sliced: 0,
    readAsArrayBuffer(blob: BlobLike): ArrayBuffer {
      this.sliced++;
      const b = (blob as FakeBlob).bytes;
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
    },
  };
}
