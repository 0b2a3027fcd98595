/**
 * Hints where the user is probably wrong: the other ABI's block size in Header.Size, a --base
 * under which no pointer of the root block lands in the image, a scan over a misaligned base.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentImage, decodeTree, encodeTree, scanImage } from '../../src/index.js';
import { X64, X86 } from '../../src/layout/abi.js';
import { main } from '../../src/cli/main.js';

const SAMPLE = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const BASE = 0xffffc70a12340000n;
const X86_IMAGE = new Uint8Array(readFileSync('fixtures/initiate-x86.bin'));
const X86_BASE = 0x8a400000n;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

describe('Header.Size of the other ABI', () => {
  it('an x86 capture read as x64: try --abi x86', () => {
    const doc = decodeTree(SegmentImage.region(X86_IMAGE, X86_BASE), X86_BASE, { abi: X64 });
    expect(doc.diagnostics.find((d) => d.code === 'HEADER_SIZE_MISMATCH')?.message).toBe(
      'Header.Size is 76, the block is 152 bytes on x64 (76 is the x86 block size: try --abi x86)',
    );
    // The pointers are misread: no BASE_SUSPECT beside the real reason.
    expect(doc.diagnostics.some((d) => d.code === 'BASE_SUSPECT')).toBe(false);
  });

  it('an x64 capture read as x86: try --abi x64', () => {
    const doc = decodeTree(SegmentImage.region(SAMPLE, BASE), BASE, { abi: X86 });
    expect(doc.diagnostics.find((d) => d.code === 'HEADER_SIZE_MISMATCH')?.message).toBe(
      'Header.Size is 152, the block is 76 bytes on x86 (152 is the x64 block size: try --abi x64)',
    );
  });

  it('no hint for a size that is neither', () => {
    const bytes = SAMPLE.slice();
    bytes[2] = 99;
    const doc = decodeTree(SegmentImage.region(bytes, BASE), BASE, { abi: X64, operation: 'initiate' });
    expect(doc.diagnostics.map((d) => d.message)).toEqual(['Header.Size is 99, the block is 152 bytes on x64']);
  });
});

describe('a --base under which nothing lands', () => {
  it('the sample under a base 1 MiB off: BASE_SUSPECT on the root, naming its pointers', async () => {
    const wrong = BASE + 0x100000n;
    const doc = decodeTree(SegmentImage.region(SAMPLE, wrong), wrong, { abi: X64, operation: 'initiate' });
    expect(doc.diagnostics[0]).toEqual({
      severity: 'warning',
      code: 'BASE_SUSPECT',
      message:
        '--base may be wrong: no pointer of the root block lands in the captured memory (NextBlock 0xffffc70a12340738, DependentBlockList 0xffffc70a123400a0, MiniportOffloadContext 0xffffc70a12340098)',
      path: 'blocks[0]',
      address: '0xffffc70a12440000',
      offset: 0,
    });
    const r = await run('validate', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12440000', '--operation', 'initiate');
    expect(r.out).toContain('warning BASE_SUSPECT blocks[0] @0xffffc70a12440000 (offset 0x0): --base may be wrong');
  });

  it('not under the right base, and not for a root with NULL links whose context cell is elsewhere', () => {
    expect(decodeTree(SegmentImage.region(SAMPLE, BASE), BASE, { abi: X64 }).diagnostics.some((d) => d.code === 'BASE_SUSPECT')).toBe(false);
    const one = encodeTree({ abi: 'x64', blocks: [{ role: 'linker', type: 'NeighborOffloadConstState', '*MiniportOffloadContext': '0x1' }] });
    // Only the block: its context cell (after it) is cut off, its links are NULL.
    const image = SegmentImage.region(one.bytes.slice(0, 152), one.base);
    const doc = decodeTree(image, one.root, { abi: X64, operation: 'initiate' });
    expect(doc.diagnostics.map((d) => d.code)).toEqual(['CONTEXT_OUTSIDE_IMAGE']);
  });

  it('in segments (two, apart), it says a --segment address may be wrong', () => {
    const wrong = BASE + 0x100000n;
    const image = new SegmentImage([{ base: wrong, bytes: SAMPLE.subarray(0, 0x400) }, { base: wrong + 0x10000n, bytes: SAMPLE.subarray(0x400) }]);
    const doc = decodeTree(image, wrong, { abi: X64, operation: 'initiate' });
    expect(doc.diagnostics[0]!.message).toMatch(/^a --segment address may be wrong: no pointer of the root block lands/);
  });

  it('not when one pointer of the root lands (a capture cut short)', () => {
    // The root's NextBlock chain is cut off, its dependents are in.
    const cut = SAMPLE.slice(0, 0x700);
    const doc = decodeTree(SegmentImage.region(cut, BASE), BASE, { abi: X64, operation: 'initiate' });
    expect(doc.diagnostics.some((d) => d.code === 'POINTER_OUTSIDE_IMAGE')).toBe(true);
    expect(doc.diagnostics.some((d) => d.code === 'BASE_SUSPECT')).toBe(false);
  });
});

describe('scan over a misaligned base', () => {
  it('scanImage says so through onWarning, naming the nearest aligned bases; an aligned base says nothing', () => {
    const said: string[] = [];
    scanImage(SegmentImage.region(SAMPLE, BASE + 4n), { abi: X64, onWarning: (m) => said.push(m) });
    expect(said).toEqual([
      'the captured memory at 0xffffc70a12340004 is not 8-byte aligned, as x64 blocks are: the scan examines the addresses 8 bytes apart from there, so it misses every aligned block; is the base right (the nearest aligned ones are 0xffffc70a12340000 and 0xffffc70a12340008)?',
    ]);
    scanImage(SegmentImage.region(SAMPLE, BASE), { abi: X64, onWarning: (m) => said.push(m) });
    scanImage(SegmentImage.region(X86_IMAGE, X86_BASE + 4n), { abi: X86, onWarning: (m) => said.push(m) });
    expect(said.length).toBe(1);
  });

  it('the scan command prints it as a warning on stderr', async () => {
    const r = await run('scan', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340004');
    expect(r.err).toMatch(/^ndis-offload: warning: the captured memory at 0xffffc70a12340004 is not 8-byte aligned/);
    expect((await run('scan', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340000')).err).toBe('');
  });
});
