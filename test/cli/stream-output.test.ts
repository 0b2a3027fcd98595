/**
 * decode --json and --ndjson write as they decode: the same bytes as the whole document, in
 * chunks of about 64 KiB; --ndjson's refusals; validate, which now reads the blocks as a stream,
 * prints what it printed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildFixture, decodeOptionsOf, fixtureNames, readDescription } from '../../scripts/fixtures.js';
import fc from 'fast-check';
import { CHUNK_CHARS, SegmentImage, decodeBlocks, decodeTree, encodeTree, openDump } from '../../src/index.js';
import { PLAIN, formatTreeText, treeTextOf, writeTreeText } from '../../src/cli/format-tree.js';
import { fcParams, treeCaseArb } from '../support/arbitraries.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string; writes: string[] }> {
  const writes: string[] = [];
  let err = '';
  const code = await main(argv, { out: (t) => writes.push(t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out: writes.join(''), err, writes };
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

describe('decode --json, streamed', () => {
  for (const name of fixtureNames()) {
    it(`fixtures/${name}.bin: the document of decodeTree, byte for byte`, async () => {
      const d = readDescription(name);
      const { base } = buildFixture(d);
      const options = decodeOptionsOf(d);
      const argv = ['decode', `fixtures/${name}.bin`, '--base', hex(base), '--abi', options.abi!.name, '--ndis', options.ndis!];
      if (options.operation) argv.push('--operation', options.operation);
      const doc = decodeTree(SegmentImage.region(new Uint8Array(readFileSync(`fixtures/${name}.bin`)), base), base, options);
      const r = await run(...argv, '--json');
      expect(r.err).toBe('');
      expect(r.out).toBe(`${JSON.stringify(doc, null, 2)}\n`);
      expect(r.code).toBe(doc.blocks.length === 0 ? 3 : 0);
    });
  }

  it('fixtures/sample-x64.dmp: the document of decodeTree on the dump, byte for byte', async () => {
    const root = 0xffffc70a12340f80n;
    const dump = openDump('fixtures/sample-x64.dmp');
    const doc = decodeTree(dump.image(), root, { operation: 'initiate' });
    dump.close();
    const r = await run('decode', 'fixtures/sample-x64.dmp', '--root', hex(root), '--operation', 'initiate', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  it('writes in chunks of at least 64 KiB (all but the last), not a string per member', async () => {
    const r = await run('decode', 'fixtures/large-x64.bin', '--base', '0xffffc70a30000000', '--operation', 'initiate', '--json');
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(4 * CHUNK_CHARS);
    expect(r.writes.length).toBeGreaterThan(3);
    for (const w of r.writes.slice(0, -1)) expect(w.length).toBeGreaterThanOrEqual(CHUNK_CHARS);
    expect(r.writes.length).toBeLessThanOrEqual(Math.ceil(r.out.length / CHUNK_CHARS));
  });

  it('an empty tree: the document with "blocks": [], exit 3', async () => {
    const r = await run('decode', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340000', '--root', '0xffffc70a99990000', '--json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out).blocks).toEqual([]);
    expect(JSON.parse(r.out).diagnostics[0].code).toBe('POINTER_OUTSIDE_IMAGE');
  });
});

describe('decode --ndjson', () => {
  it('a head line, a line per block in document order with its path, a line per diagnostic', async () => {
    const base = 0xffffc70a12340000n;
    const doc = decodeTree(SegmentImage.region(new Uint8Array(readFileSync('fixtures/sample-x64.bin')), base), base, {});
    const r = await run('decode', 'fixtures/sample-x64.bin', '--base', hex(base), '--ndjson');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.pop()).toBe('');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const { blocks: _b, diagnostics: _d, ...head } = doc;
    expect(lines[0]).toBe(JSON.stringify({ kind: 'document', ...head }));
    const flat: { path: string; block: Record<string, unknown> }[] = [];
    const walk = (list: typeof doc.blocks, path: string): void =>
      list.forEach(({ dependents, ...block }, i) => {
        flat.push({ path: `${path}[${i}]`, block });
        walk(dependents, `${path}[${i}].dependents`);
      });
    walk(doc.blocks, 'blocks');
    expect(flat.length).toBeGreaterThan(3);
    expect(records.slice(1, 1 + flat.length)).toEqual(flat.map(({ path, block }) => ({ kind: 'block', path, ...block })));
    expect(lines.slice(1, 1 + flat.length)).toEqual(flat.map(({ path, block }) => JSON.stringify({ kind: 'block', path, ...block })));
    expect(doc.diagnostics.length).toBeGreaterThan(0);
    expect(lines.slice(1 + flat.length)).toEqual(doc.diagnostics.map((d) => JSON.stringify({ kind: 'diagnostic', ...d })));
  });

  it('is refused with --json, --brief, --full and with a value; validate and hexdump do not take it', async () => {
    const src = ['fixtures/sample-x64.bin', '--base', '0xffffc70a12340000'];
    const refusals: [string[], string][] = [
      [['decode', ...src, '--ndjson', '--json'], '--json and --ndjson: give one (--json: the document; --ndjson: a line per block)'],
      [['decode', ...src, '--json', '--ndjson'], '--json and --ndjson: give one (--json: the document; --ndjson: a line per block)'],
      [['decode', ...src, '--ndjson', '--brief'], '--brief is for the text tree; --ndjson prints a line per block'],
      [['decode', ...src, '--full', '--ndjson'], '--full is for the text tree; --ndjson prints a line per block'],
      [['decode', ...src, '--ndjson=yes'], '--ndjson takes no value'],
    ];
    for (const [argv, message] of refusals) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    for (const command of ['validate', 'hexdump']) {
      const r = await run(command, ...src, '--ndjson');
      expect(r.code, command).toBe(2);
      expect(r.err).toContain("'--ndjson'");
    }
  });
});

describe('validate, reading the blocks as a stream', () => {
  it('prints the diagnostics and counts of the whole document (an empty tree included)', async () => {
    const base = 0xffffc70a12340000n;
    const bin = SegmentImage.region(new Uint8Array(readFileSync('fixtures/broken-shared.bin')), base);
    const d = readDescription('broken-shared');
    const fx = buildFixture(d);
    const doc = decodeTree(SegmentImage.region(new Uint8Array(readFileSync('fixtures/broken-shared.bin')), fx.base), fx.base, decodeOptionsOf(d));
    const r = await run('validate', 'fixtures/broken-shared.bin', '--base', hex(fx.base), ...(decodeOptionsOf(d).operation ? ['--operation', decodeOptionsOf(d).operation!] : []), '--json');
    expect(r.code).toBe(1);
    expect(r.out).toBe(`${JSON.stringify(doc.diagnostics, null, 2)}\n`);
    expect(bin.kind).toBe('region');
    const empty = await run('validate', 'fixtures/sample-x64.bin', '--base', hex(base), '--root', '0xffffc70a99990000');
    expect(empty.code).toBe(1);
    expect(empty.out.trim().split('\n').pop()).toBe('1 problem (1 error) in an empty tree');
  });
});

describe('decode, the text tree, read twice rather than built', () => {
  for (const name of fixtureNames()) {
    it(`fixtures/${name}.bin: the text of the whole document, in each view, wrapped to 80 columns`, async () => {
      const d = readDescription(name);
      const { base } = buildFixture(d);
      const options = decodeOptionsOf(d);
      const argv = ['decode', `fixtures/${name}.bin`, '--base', hex(base), '--abi', options.abi!.name, '--ndis', options.ndis!];
      if (options.operation) argv.push('--operation', options.operation);
      const doc = decodeTree(SegmentImage.region(new Uint8Array(readFileSync(`fixtures/${name}.bin`)), base), base, options);
      let blocks = 0;
      const count = (list: typeof doc.blocks): void => list.forEach((b) => (blocks++, count(b.dependents)));
      count(doc.blocks);
      const byDefault = blocks > 200;
      for (const view of [undefined, 'brief', 'full'] as const) {
        const r = await run(...argv, ...(view ? [`--${view}`] : []));
        expect(r.err).toBe('');
        const chosen = view ?? (byDefault ? 'brief' : 'full');
        expect(r.out).toBe(formatTreeText(doc, PLAIN, { width: 80, view: chosen, briefByDefault: view === undefined && byDefault }));
        expect(r.code).toBe(blocks === 0 ? 3 : 0);
      }
    });
  }

  it('on generated trees, intact and with bytes flipped: treeTextOf over two readings gives formatTreeText of the document', () => {
    fc.assert(
      fc.property(treeCaseArb(), fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 6 }), fc.boolean(), (tc, flips, brief) => {
        const enc = encodeTree(JSON.parse(JSON.stringify(tc.doc)));
        const bytes = enc.bytes.slice();
        for (const [i, bit] of flips) bytes[i % bytes.length]! ^= 1 << bit;
        const image = SegmentImage.region(bytes, enc.base);
        const options = { abi: tc.abi, ndis: tc.ndis, operation: tc.operation };
        const view = brief ? ('brief' as const) : ('full' as const);
        const lines: string[] = [];
        writeTreeText(treeTextOf(() => decodeBlocks(image, enc.root, options)), PLAIN, { width: 100, view }, (l) => lines.push(l));
        expect(`${lines.join('\n')}\n`).toBe(formatTreeText(decodeTree(image, enc.root, options), PLAIN, { width: 100, view }));
      }),
      fcParams({ numRuns: 150 }),
    );
  });

  it('writes in chunks of at least 64 KiB too', async () => {
    const r = await run('decode', 'fixtures/large-x64.bin', '--base', '0xffffc70a30000000', '--operation', 'initiate', '--full');
    expect(r.code).toBe(0);
    expect(r.writes.length).toBeGreaterThan(3);
    for (const w of r.writes.slice(0, -1)) expect(w.length).toBeGreaterThanOrEqual(CHUNK_CHARS);
  });
});
