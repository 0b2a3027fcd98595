// hexdump writes as it goes: in chunks of about 64 KiB (never the whole view in one string), the
// text and the --json form the same as one string would have been, a view with no ranges exact.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CHUNK_CHARS, encodeTree } from '../../src/index.js';
import { syntheticDocument } from '../../bench/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'ndis-offload-hexdump-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; writes: string[]; err: string }> {
  const writes: string[] = [];
  let err = '';
  const code = await main(argv, { out: (t) => writes.push(t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, writes, err };
}

describe('hexdump streams', () => {
  // 2 neighbors, 8 paths, 200 connections: 210 blocks, some 3 MB of text.
  const { bytes, base, root } = encodeTree(syntheticDocument({ neighbors: 2, paths: 4, connections: 25 }).doc);
  const file = join(dir, 'tree.bin');
  writeFileSync(file, bytes);
  const args = ['hexdump', file, '--base', `0x${base.toString(16)}`, '--root', `0x${root.toString(16)}`, '--operation', 'initiate'];

  it('the text of 210 blocks in chunks of about 64 KiB, a line never cut across two', async () => {
    const r = await run(args);
    expect(r.code).toBe(0);
    const text = r.writes.join('');
    expect(text.length).toBeGreaterThan(30 * CHUNK_CHARS);
    expect(r.writes.length).toBeGreaterThan(30);
    expect(r.writes.length).toBeLessThanOrEqual(Math.ceil(text.length / CHUNK_CHARS));
    for (const w of r.writes) {
      expect(w.endsWith('\n')).toBe(true);
      expect(w.length).toBeLessThan(CHUNK_CHARS + 200);
    }
    // The first range of the tree, and the last: the root block's Header.Type, a TCP block's tail padding (address order).
    expect(text.startsWith(`0x${root.toString(16)} +${(root - base).toString(16).padStart(6, '0')}  `)).toBe(true);
    expect(text.split('\n')[0]).toMatch(/ {2}blocks\[0\] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST\.Header\.Type$/);
    expect(text.split('\n').filter((l) => /NDIS_MINIPORT_OFFLOAD_BLOCK_LIST\.Header\.Type$/.test(l))).toHaveLength(210);
  });

  it('--json in chunks, the text JSON.stringify(view, null, 2) would give', async () => {
    const r = await run([...args, '--json']);
    expect(r.code).toBe(0);
    const text = r.writes.join('');
    expect(r.writes.length).toBeGreaterThan(30);
    expect(r.writes.length).toBeLessThanOrEqual(Math.ceil(text.length / CHUNK_CHARS));
    const view = JSON.parse(text) as { ranges: { path: string; address: string }[] };
    expect(text).toBe(`${JSON.stringify(view, null, 2)}\n`);
    expect(view.ranges.filter((x) => x.path.endsWith(']') && x.address === `0x${root.toString(16)}`)).toHaveLength(1);
  });

  it('--json with diagnostics on ranges and a view with no range at all: the same text as one JSON.stringify', async () => {
    for (const argv of [
      ['hexdump', 'fixtures/broken-cycle.bin', '--base', '0xffffc70a40000000', '--json'],
      ['hexdump', 'fixtures/broken-header-size.bin', '--base', '0xffffc70a40000000', '--operation', 'initiate', '--json'],
      ['hexdump', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340000', '--root', '0xffffc70a99990000', '--json'],
    ]) {
      const r = await run(argv);
      const text = r.writes.join('');
      const view = JSON.parse(text) as { ranges: { diagnostics: unknown[] }[]; diagnostics: unknown[] };
      expect(text).toBe(`${JSON.stringify(view, null, 2)}\n`);
      expect(view.diagnostics.length).toBeGreaterThan(0);
      if (view.ranges.length > 0) expect(view.ranges.some((x) => x.diagnostics.length > 0)).toBe(true);
    }
    const none = await run(['hexdump', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340000', '--root', '0xffffc70a99990000', '--json']);
    expect(none.code).toBe(3);
    expect(none.writes.join('')).toContain('\n  "ranges": [],\n  "diagnostics": [\n    {\n      "severity": "error",\n      "code": "POINTER_OUTSIDE_IMAGE",');
  });
});
