/** docs/layout.md is generated from the descriptors and layouts; it must never drift from them. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layoutMarkdown } from '../../src/layout/markdown.js';
import { formatMarkdown } from '../../src/layout/format-markdown.js';

const DOC = new URL('../../docs/layout.md', import.meta.url);
const STALE = 'docs/layout.md is out of date with src/layout: run `npm run generate` and commit the result';

describe('docs/layout.md', () => {
  it('is exactly what layoutMarkdown() generates', () => {
    let onDisk: string;
    try {
      onDisk = readFileSync(DOC, 'utf8');
    } catch {
      throw new Error(`docs/layout.md is missing: run \`npm run generate\``);
    }
    expect(onDisk, STALE).toBe(layoutMarkdown());
  });

  it('shows x64 and x86 side by side, bit positions and the DWnd revision note (spot checks)', () => {
    const doc = layoutMarkdown();
    expect(doc).toContain('| 0x090 | 0x048 | 8 | 4 | `NetBufferListChain` | `NET_BUFFER_LIST*` |');
    expect(doc).toContain('| 0x028 | 0x028 | 4 | 4 | `VlanId` | `ULONG : 12` (bits 0–11) |');
    expect(doc).toContain(
      '`DWnd` is NDIS 6.1 and later. Size by revision: ' +
        'NDIS 6.0: 120 bytes on x64, 108 on x86; NDIS 6.1: 128 bytes on x64, 112 on x86.',
    );
  });
});

describe('docs/format.md', () => {
  it('is exactly what formatMarkdown() generates', () => {
    expect(readFileSync(new URL('../../docs/format.md', import.meta.url), 'utf8'), STALE.replace('layout.md', 'format.md')).toBe(formatMarkdown());
  });

  it('gives the offsets of the combined parts (TCP delegated at +0x48 on x64)', () => {
    expect(formatMarkdown()).toContain('| 17 | `TcpOffloadState` | tcp | `TCP_OFFLOAD_STATE_CONST`, `TCP_OFFLOAD_STATE_CACHED`, `TCP_OFFLOAD_STATE_DELEGATED` | +0x0 / +0x18 / +0x48 (200) |');
  });
});
