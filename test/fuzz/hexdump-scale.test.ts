/**
 * hexdump on a large tree in bounded memory: the CLI (main) hexdumps a NextBlock chain of N blocks
 * (built as test/fuzz/stream-scale.test.ts builds it, operation invalidate), text and --json, to
 * sinks that count, in a child Node process whose old space is limited to HEAP_MB; a second child,
 * under the same limit, builds the view as hexdump did before (decodeTree, annotateTree, the bytes
 * of every range, the lines joined) and must run out of heap, so that the limit is one the old
 * way exceeds. The streamed output is then checked: a row per range of every block, its first
 * SAMPLE blocks those of `hexdump --max-blocks SAMPLE`, its last SAMPLE blocks those of a hexdump
 * rooted at the first of them (paths renumbered), and the --json form likewise.
 *
 * N = 110,000 keeps the chain under 16 MiB (the offset column six digits wide, as in the samples).
 * Measured on 2026-12-05 on the 2-core machine (shared): 19 ranges a block, the streamed text
 * (313 MiB) and --json (711 MiB) in 29 s of CPU under tsx, the heap (sampled at every 64th write,
 * the test's own 4 MiB of samples and uncollected garbage included) peaking at 74 MiB, as it does
 * at 20,000 blocks; the whole view runs out of 128 MB within 6 s, before its lines. Both children
 * take about a minute together.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const N = Number(process.env.HEXDUMP_SCALE_BLOCKS ?? 110_000);
const HEAP_MB = 128;
const SAMPLE = 200;

const src = (p: string): string => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));

/** Builds the chain; argv: mode (stream | whole), n, file. */
const CHILD = `
const { decodeTree } = await import(${src('tree/decode.ts')});
const { annotateTree } = await import(${src('tree/annotate.ts')});
const { SegmentImage, Location } = await import(${src('codec/image.ts')});
const { X64 } = await import(${src('layout/abi.ts')});
const { main } = await import(${src('cli/main.ts')});
const { writeFileSync } = await import('node:fs');
const [mode, nText, file] = process.argv.slice(1);
const n = Number(nText);
const size = 152, NEXT = 8, base = 0xffffc70a00000000n;
let bytes = new Uint8Array(n * size);
const dv = new DataView(bytes.buffer);
for (let i = 0; i < n; i++) {
  dv.setUint16(i * size + 2, size, true);
  dv.setBigUint64(i * size + NEXT, i + 1 < n ? base + BigInt((i + 1) * size) : 0n, true);
}
if (mode === 'whole') {
  // hexdump before: the whole document, every range with its bytes, then the lines.
  const image = SegmentImage.region(bytes, base);
  const doc = decodeTree(image, base, { operation: 'invalidate', maxBlocks: n + 10 });
  const loc = new Location();
  const shown = annotateTree(doc, X64).map((range) => {
    if (!image.locate(range.address, range.size, loc)) return { range, bytes: undefined, offset: null };
    const b = [];
    for (let i = 0; i < range.size; i++) b.push(loc.view.getUint8(loc.offset + i));
    return { range, bytes: b, offset: loc.imageOffset };
  });
  const lines = shown.map(({ range, bytes, offset }) => range.address.toString(16) + ' +' + offset.toString(16) + '  ' + bytes.map((x) => x.toString(16).padStart(2, '0')).join(' ') + '  ' + range.path + ' ' + range.label);
  console.log(JSON.stringify({ chars: lines.join('\\n').length }));
  process.exit(0);
}
writeFileSync(file, bytes);
bytes = undefined;
const SAMPLE = ${SAMPLE};
const hex = (v) => '0x' + v.toString(16);
const common = [file, '--base', hex(base), '--operation', 'invalidate'];
let peakHeap = 0;
/** Runs hexdump, keeping the first and the last 2 MiB or more of its output and counting the lines holding key. */
async function hexdump(args, key) {
  let chars = 0, writes = 0, keys = 0, carry = '', first = '', tail = [], tailChars = 0;
  const code = await main(['hexdump', ...args], {
    out: (text) => {
      chars += text.length;
      writes++;
      const scan = carry + text;
      for (let at = scan.indexOf(key); at >= 0; at = scan.indexOf(key, at + 1)) keys++;
      carry = scan.slice(-(key.length - 1));
      if (first.length < 2 << 20) first += text.slice(0, (2 << 20) - first.length);
      tail.push(text);
      tailChars += text.length;
      while (tailChars - tail[0].length >= 2 << 20) tailChars -= tail.shift().length;
      if ((writes & 63) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    },
    err: (text) => process.stderr.write(text),
    stdoutIsTty: false,
    env: {},
  });
  return { code, chars, writes, keys, first, last: tail.join('') };
}
const cpu = process.cpuUsage();
const KEY = 'blocks[';
const text = await hexdump([...common, '--max-blocks', String(n + 10)], KEY);
const json = await hexdump([...common, '--max-blocks', String(n + 10), '--json'], '"path": ');
const used = process.cpuUsage(cpu);
// The samples: the first SAMPLE blocks (less the LIMIT_BLOCKS error after them), and the last
// SAMPLE, rooted at the first of them (their paths renumbered).
const renumber = (s) => s.replace(/blocks\\[(\\d+)\\]/g, (_, k) => 'blocks[' + (Number(k) + n - SAMPLE) + ']');
const rootOfTail = hex(base + BigInt((n - SAMPLE) * size));
const headText = (await hexdump([...common, '--max-blocks', String(SAMPLE)], KEY)).first.replace(/error LIMIT_BLOCKS [^\\n]*\\n$/, '');
const tailText = renumber((await hexdump([...common, '--root', rootOfTail], KEY)).first);
const headJson = (await hexdump([...common, '--max-blocks', String(SAMPLE), '--json'], KEY)).first;
const tailJson = renumber((await hexdump([...common, '--root', rootOfTail, '--json'], KEY)).first);
const rangesOf = (s) => s.slice(s.indexOf('  "ranges": [\\n') + 14, s.indexOf('\\n  ],\\n  "diagnostics"'));
console.log(JSON.stringify({
  text: { code: text.code, chars: text.chars, writes: text.writes, rows: text.keys, head: text.first.startsWith(headText), headRows: headText.split('\\n').length, tail: text.last.endsWith(tailText), tailLength: tailText.length },
  json: { code: json.code, chars: json.chars, writes: json.writes, ranges: json.keys, head: json.first.includes(rangesOf(headJson) + ',\\n'), tail: json.last.includes(',\\n' + rangesOf(tailJson) + '\\n  ],\\n  "diagnostics": []\\n}\\n'), tailLength: rangesOf(tailJson).length },
  sampleRanges: rangesOf(headJson).split('"path": ').length - 1,
  ms: (used.user + used.system) / 1000, peakHeap,
}));
`;

const dir = mkdtempSync(join(tmpdir(), 'ndis-offload-hexdump-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(mode: 'stream' | 'whole'): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', `--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', CHILD, mode, String(N), join(dir, 'chain.bin')],
    { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 10 * 60_000 },
  );
}

describe(`hexdump on a chain of ${N} blocks with ${HEAP_MB} MB of old space`, () => {
  it('the whole view, as hexdump built it before, does not fit', { timeout: 10 * 60_000 }, () => {
    const r = child('whole');
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, `the whole view fitted in ${HEAP_MB} MB: the limit proves nothing\n${r.stdout}`).not.toBe(0);
    expect(r.stderr).toMatch(/heap out of memory|Reached heap limit/);
  });

  it('streamed by the CLI, it fits: a row per range of every block, the first and last blocks those of smaller hexdumps', { timeout: 10 * 60_000 }, () => {
    const r = child('stream');
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, `the streamed hexdump failed:\n${r.stderr.slice(-2000)}`).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      text: { code: number; chars: number; writes: number; rows: number; head: boolean; headRows: number; tail: boolean; tailLength: number };
      json: { code: number; chars: number; writes: number; ranges: number; head: boolean; tail: boolean; tailLength: number };
      sampleRanges: number;
      ms: number;
      peakHeap: number;
    };
    console.info(
      `hexdump-scale: ${N} blocks, ${(report.text.chars / 2 ** 20).toFixed(0)} MiB of text and ${(report.json.chars / 2 ** 20).toFixed(0)} MiB of JSON, ` +
        `${(report.ms / 1000).toFixed(1)} s of CPU, heap peak ${(report.peakHeap / 2 ** 20).toFixed(0)} MiB`,
    );
    // Every block's ranges: as many per block as in the sample (a block with no state, no cell: its structure alone).
    const perBlock = report.sampleRanges / SAMPLE;
    expect(Number.isInteger(perBlock) && perBlock > 5).toBe(true);
    expect(report.text.code).toBe(0);
    expect(report.text.rows).toBe(N * perBlock); // each range labels one row with its block's path
    expect(report.text.head).toBe(true);
    expect(report.text.headRows).toBeGreaterThan(SAMPLE * perBlock);
    expect(report.text.tail).toBe(true);
    expect(report.text.tailLength).toBeGreaterThan(SAMPLE * 500);
    expect(report.text.writes).toBeLessThanOrEqual(Math.ceil(report.text.chars / (64 * 1024)));
    expect(report.json.code).toBe(0);
    expect(report.json.ranges).toBe(N * perBlock);
    expect(report.json.head).toBe(true);
    expect(report.json.tail).toBe(true);
    expect(report.json.tailLength).toBeGreaterThan(SAMPLE * 1000);
    expect(report.json.writes).toBeLessThanOrEqual(Math.ceil(report.json.chars / (64 * 1024)));
  });
});
