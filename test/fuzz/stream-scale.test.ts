/**
 * decode --json on a million blocks in bounded memory: the CLI (main) decodes a NextBlock chain of
 * a million blocks (as test/fuzz/scale.test.ts builds it, operation invalidate) to a sink that
 * counts, in a child Node process whose old space is limited to HEAP_MB; a second child, under the
 * same limit, builds the whole document as decode --json did before (decodeTree, then
 * JSON.stringify) and must run out of heap, so that the limit is one the old way exceeds and the
 * first child's success means something. The streamed text is then checked: a block per `address`
 * key, and its first and last SAMPLE blocks byte for byte those of decodeTree on smaller trees of
 * the same image (the first SAMPLE blocks; the last SAMPLE, rooted at the first of them: a
 * block's text does not hold its path).
 *
 * Measured on 2026-12-05 on the 2-core machine (shared): the streamed decode of 1,000,000 blocks
 * in 8 to 10 s of CPU under tsx, its heap (sampled at every 64th write, the test's own 8 MiB of
 * samples included) peaking at 40 to 65 MB; the whole document needs some 830 MB of heap before
 * its 1.16 GB of text (past V8's longest string: it could not have been printed at all).
 * HEAP_MB = 128 leaves the stream twice its need and stops the old way a seventh of the way
 * through the decode. Both children take about 20 s together.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const N = Number(process.env.SCALE_BLOCKS ?? 1_000_000);
const HEAP_MB = 128;
const SAMPLE = 2000;

const src = (p: string): string => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));

/** Builds the chain; argv: mode (stream | whole), n, file. */
const CHILD = `
const { decodeTree } = await import(${src('tree/decode.ts')});
const { SegmentImage } = await import(${src('codec/image.ts')});
const { main } = await import(${src('cli/main.ts')});
const { readFileSync, writeFileSync } = await import('node:fs');
const [mode, nText, file] = process.argv.slice(1);
const n = Number(nText);
const size = 152, NEXT = 8, base = 0xffffc70a00000000n;
const options = { operation: 'invalidate', maxBlocks: n + 10 };
let bytes = new Uint8Array(n * size);
const dv = new DataView(bytes.buffer);
for (let i = 0; i < n; i++) {
  dv.setUint16(i * size + 2, size, true);
  dv.setBigUint64(i * size + NEXT, i + 1 < n ? base + BigInt((i + 1) * size) : 0n, true);
}
if (mode === 'whole') {
  // decode --json before: the whole document, then its text.
  const text = JSON.stringify(decodeTree(SegmentImage.region(bytes, base), base, options), null, 2) + '\\n';
  console.log(JSON.stringify({ chars: text.length }));
  process.exit(0);
}
writeFileSync(file, bytes);
bytes = undefined;
const SAMPLE = ${SAMPLE};
const KEY = '"address": ';
let chars = 0, writes = 0, addresses = 0, carry = '', first = '', tail = [], tailChars = 0, peakHeap = 0;
const cpu = process.cpuUsage();
const code = await main(['decode', file, '--base', '0x' + base.toString(16), '--operation', 'invalidate', '--max-blocks', String(n + 10), '--json'], {
  out: (text) => {
    chars += text.length;
    writes++;
    const scan = carry + text;
    for (let at = scan.indexOf(KEY); at >= 0; at = scan.indexOf(KEY, at + 1)) addresses++;
    carry = scan.slice(-(KEY.length - 1));
    if (first.length < 4 << 20) first += text.slice(0, (4 << 20) - first.length);
    // The last 4 MiB or more: whole writes, the oldest dropped while the rest hold as much.
    tail.push(text);
    tailChars += text.length;
    while (tailChars - tail[0].length >= 4 << 20) tailChars -= tail.shift().length;
    if ((writes & 63) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  },
  err: (text) => process.stderr.write(text),
  stdoutIsTty: false,
  env: {},
});
const used = process.cpuUsage(cpu);
const last = tail.join('');
// The samples: decodeTree on smaller trees of the same image.
const image = SegmentImage.region(new Uint8Array(readFileSync(file)), base);
const headDoc = JSON.stringify(decodeTree(image, base, { ...options, maxBlocks: SAMPLE }), null, 2);
const headBlocks = headDoc.slice(0, headDoc.indexOf('\\n  ],\\n  "diagnostics"')) + ',\\n';
const tailDoc = JSON.stringify(decodeTree(image, base + BigInt((n - SAMPLE) * size), options), null, 2) + '\\n';
const tailBlocks = ',\\n' + tailDoc.slice(tailDoc.indexOf('"blocks": [\\n') + '"blocks": [\\n'.length);
console.log(JSON.stringify({
  code, chars, writes, addresses, ms: (used.user + used.system) / 1000, peakHeap,
  head: first.startsWith(headBlocks), headLength: headBlocks.length,
  tail: last.endsWith(tailBlocks), tailLength: tailBlocks.length,
  end: last.slice(-60),
}));
`;

const dir = mkdtempSync(join(tmpdir(), 'ndis-offload-stream-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(mode: 'stream' | 'whole'): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', `--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', CHILD, mode, String(N), join(dir, 'chain.bin')],
    { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 10 * 60_000 },
  );
}

describe(`decode --json on a chain of ${N} blocks with ${HEAP_MB} MB of old space`, () => {
  it('the whole document, as decode --json built it before, does not fit', { timeout: 10 * 60_000 }, () => {
    const r = child('whole');
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, `the whole document fitted in ${HEAP_MB} MB: the limit proves nothing\n${r.stdout}`).not.toBe(0);
    expect(r.stderr).toMatch(/heap out of memory|Reached heap limit/);
  });

  it('streamed by the CLI, it fits: a block per address, the first and last blocks those of decodeTree', { timeout: 10 * 60_000 }, () => {
    const r = child('stream');
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, `the streamed decode failed:\n${r.stderr.slice(-2000)}`).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      code: number; chars: number; writes: number; addresses: number; ms: number; peakHeap: number;
      head: boolean; headLength: number; tail: boolean; tailLength: number; end: string;
    };
    console.info(
      `stream-scale: ${N} blocks, ${(report.chars / 2 ** 20).toFixed(0)} MiB of JSON in ${report.writes} writes, ` +
        `${(report.ms / 1000).toFixed(1)} s of CPU, heap peak ${(report.peakHeap / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(report.code).toBe(0);
    expect(report.addresses).toBe(N);
    expect(report.headLength).toBeGreaterThan(SAMPLE * 100);
    expect(report.head).toBe(true);
    expect(report.tailLength).toBeGreaterThan(SAMPLE * 100);
    expect(report.tail).toBe(true);
    expect(report.end).toMatch(/\n {4}}\n {2}\],\n {2}"diagnostics": \[\]\n}\n$/);
    expect(report.writes).toBeLessThanOrEqual(Math.ceil(report.chars / (64 * 1024)));
  });
});
