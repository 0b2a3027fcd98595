// What a bitmap dump's bitmap costs in memory, as docs/crash-dumps.md says: 1 bit per page of the
// machine's RAM and 1/8 of that again for the index, 36 MiB for a 1 TiB machine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BitmapIndex } from '../../src/codec/dump-pages.js';

describe('bitmap dumps: memory held', () => {
  it('is the bitmap and 1/8 of it, as the docs say: 36 MiB for a 1 TiB machine', () => {
    const bits = 2 ** 40 / 4096;
    const index = new BitmapIndex(new Uint32Array(bits / 32), bits);
    expect(index.byteLength).toBe(36 * 2 ** 20);
    expect(readFileSync('docs/crash-dumps.md', 'utf8').replace(/\s+/g, ' ')).toContain('2.25 MiB for a 64 GiB machine, 36 MiB for 1 TiB');
    expect(new BitmapIndex(new Uint32Array(2 ** 24 / 32), 2 ** 24).byteLength).toBe(2.25 * 2 ** 20);
  });
});
