/**
 * The Worker's Session in Node (no browser): the hex view's windows of bytes and the member spans
 * over them agree with the layout, with `owner` byte by byte and with themselves window by window;
 * locate gives the file offsets the rows carry; and a 2 GiB sparse dump is decoded and browsed to
 * its last byte reading a few hundred KB.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSparseDump } from '../../bench/web.js';
import { bufferReader, openFileReader } from '../../src/capture/reader.js';
import { layoutOf } from '../../src/layout/registry.js';
import type { ByteSpan } from '../../src/web/protocol.js';
import { Session } from '../../src/web/worker/session.js';
import { fcParams } from '../support/arbitraries.js';

const FIXTURES = resolve(__dirname, '../../fixtures');
const MB = 2 ** 20;

function region(name: string): { session: Session; bytes: Uint8Array } {
  const doc = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as { base: string; abi: 'x64' | 'x86'; root: string };
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, `${name}.bin`)));
  const session = new Session(1, bufferReader(bytes, `${name}.bin`), { settings: { kind: 'region', base: doc.base, abi: doc.abi } });
  session.decode(doc.root);
  return { session, bytes };
}

const field = (name: string): { offset: number; size: number } => layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST').fields.find((f) => f.name === name)!;

describe('Session.bytes and owner over a region', () => {
  const { session, bytes } = region('large-x64');
  const all = session.bytes(0, bytes.length);

  it('gives the file bytes and, for every block, its members and padding as spans at the layout offsets', () => {
    expect(all.offset).toBe(0);
    expect([...all.bytes]).toEqual([...bytes]);
    const first = session.rows[0]!;
    const status = all.spans.find((s) => s.row === 0 && s.label === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status');
    expect(status).toEqual({ offset: first.offset! + field('Status').offset, size: 4, row: 0, label: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status', padding: false });
    const pad = all.spans.find((s) => s.row === 0 && s.offset === first.offset! + field('Header').offset + field('Header').size);
    expect(pad?.padding).toBe(true);
    expect(pad?.size).toBe(field('NextBlock').offset - 4);
    // Sorted and disjoint, but for the bit-fields of one storage unit (TCP_OFFLOAD_STATE_CONST's SndWindScale and RcvWindScale share a byte), and every row's block header covered byte for byte.
    let shared = 0;
    for (let i = 1; i < all.spans.length; i++) {
      const [a, b] = [all.spans[i - 1]!, all.spans[i]!];
      if (b.offset === a.offset && b.size === a.size && b.row === a.row) shared++;
      else expect(b.offset).toBeGreaterThanOrEqual(a.offset + a.size);
    }
    expect(shared).toBeGreaterThan(0);
    const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST').size;
    for (const [row, r] of session.rows.entries()) {
      const mine = all.spans.filter((s) => s.row === row && s.offset < r.offset! + blockSize && s.offset >= r.offset!);
      expect(mine.reduce((n, s) => n + s.size, 0)).toBe(blockSize);
    }
  });

  it('owner(o) is the first span over o, for every byte of a file', () => {
    const small = region('sample-x64');
    const spans = small.session.bytes(0, small.bytes.length).spans;
    const at = (o: number): ByteSpan | undefined => spans.find((s) => o >= s.offset && o < s.offset + s.size);
    let owned = 0;
    for (let o = 0; o < small.bytes.length; o++) {
      const s = at(o);
      if (s) owned++;
      expect(small.session.owner(o)).toEqual(s ? { row: s.row, label: s.label, offset: s.offset, size: s.size, padding: s.padding } : undefined);
    }
    // Some bytes are owned and some are not (the neighbor blocks' unused tails).
    expect(owned).toBeGreaterThan(0);
    expect(owned).toBeLessThan(small.bytes.length);
  });

  it('any window gives the same bytes and the spans that meet it (clamped to the file, at most 1 MiB)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -64, max: bytes.length + 64 }), fc.integer({ min: 0, max: 4096 }), (offset, length) => {
        const w = session.bytes(offset, length);
        const from = Math.max(0, Math.min(bytes.length, offset));
        const to = Math.min(bytes.length, from + length);
        expect(w.offset).toBe(from);
        expect([...w.bytes]).toEqual([...bytes.subarray(from, to)]);
        expect(w.spans).toEqual(all.spans.filter((s) => s.offset < to && s.offset + s.size > from));
      }),
      fcParams({ numRuns: 200 }),
    );
    expect(session.bytes(0, 64 * MB).bytes.length).toBe(Math.min(bytes.length, MB));
  });

  it('locate gives each block address its row offset; an address outside the region none', () => {
    for (const r of session.rows) expect(session.locate(r.address)).toEqual({ offset: r.offset });
    expect(session.locate('0x10')).toBeUndefined();
  });

  it('a new decode replaces the spans (the member spans kept for recent blocks are dropped)', () => {
    const one = region('sample-x64');
    const before = one.session.bytes(0, 512).spans.filter((s) => s.row === 1);
    expect(before.length).toBeGreaterThan(0);
    // Decoded from the second block: what was row 1 is now row 0, and nothing precedes it.
    one.session.decode(one.session.rows[1]!.address);
    const after = one.session.bytes(0, 512).spans;
    expect(after.filter((s) => s.row === 0).map((s) => [s.offset, s.label])).toEqual(before.map((s) => [s.offset, s.label]));
    expect(after.some((s) => s.offset < before[0]!.offset)).toBe(false);
  });
});

describe('Session.find', () => {
  const { session, bytes } = region('large-x64');
  /** The whole search as the page runs it: steps of `limit` bytes until a match or the end. */
  const search = (pattern: number[], from: number, backwards: boolean, limit: number): number | null => {
    let at = from;
    for (let steps = 0; steps < 1e4; steps++) {
      const r = session.find(pattern, at, backwards, limit);
      if (r.offset !== null || r.done) return r.offset;
      if (backwards ? r.next >= at : r.next <= at) throw new Error(`a step from ${at} made no progress (${r.next})`);
      at = r.next;
    }
    throw new Error('the search did not end');
  };
  const naive = (pattern: number[], from: number, backwards: boolean): number | null => {
    const matches = (i: number): boolean => pattern.every((b, k) => bytes[i + k] === b);
    if (!backwards) {
      for (let i = Math.max(0, from); i + pattern.length <= bytes.length; i++) if (matches(i)) return i;
    } else for (let i = Math.min(from, bytes.length) - 1; i >= 0; i--) if (i + pattern.length <= bytes.length && matches(i)) return i;
    return null;
  };

  it('finds what a byte-by-byte search finds, forwards and backwards, whatever the step (matches across step and chunk edges)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: bytes.length }),
        fc.boolean(),
        fc.constantFrom(997, 4096, 64 << 20),
        fc.boolean(),
        (at, n, from, backwards, limit, absent) => {
          const pattern = [...bytes.subarray(at, Math.min(bytes.length, at + n))];
          // Now and then a pattern the file does not hold.
          if (absent) pattern.push(0xa5, 0x5a, 0xa5, 0x5a, 0xc3);
          expect(search(pattern, from, backwards, limit)).toBe(naive(pattern, from, backwards));
        },
      ),
      fcParams({ numRuns: 100 }),
    );
  });

  it('a step stops after its limit and says where the next starts; the end and the start are done', () => {
    const pattern = [0xa5, 0x5a, 0xa5, 0x5a, 0xc3];
    expect(session.find(pattern, 0, false, 1000)).toEqual({ offset: null, next: 1000, done: false });
    expect(session.find(pattern, bytes.length - 10, false, 1000)).toEqual({ offset: null, next: bytes.length, done: true });
    expect(session.find(pattern, 5000, true, 1000)).toEqual({ offset: null, next: 4000, done: false });
    expect(session.find(pattern, 500, true, 1000)).toEqual({ offset: null, next: 0, done: true });
    expect(() => session.find([], 0)).toThrow('find: give 1 to 256 bytes');
    expect(() => session.find([256], 0)).toThrow('find: give 1 to 256 bytes');
  });
});

describe('Session over a 2 GiB sparse crash dump', () => {
  let dir: string;
  let file: string;
  let root: bigint;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ndis-session-'));
    file = join(dir, 'machine-2g.dmp');
    root = writeSparseDump(file).root;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes and shows the last byte and every block reading a few hundred KB', () => {
    const source = openFileReader(file);
    const session = new Session(1, source);
    try {
      const result = session.decode(`0x${root.toString(16)}`);
      expect(result.rows.length).toBe(1022);
      const afterDecode = source.bytesRead;
      expect(afterDecode).toBeLessThan(2 * MB);
      // The file's last row: zeros nobody owns.
      const end = session.bytes(source.size - 16, 64);
      expect(end.offset).toBe(source.size - 16);
      expect([...end.bytes]).toEqual(new Array(16).fill(0));
      expect(end.spans).toEqual([]);
      expect(session.owner(source.size - 1)).toBeUndefined();
      // Every block's first bytes, as the hex view shows them when it is selected.
      let straddling = 0;
      for (const [row, r] of result.rows.entries()) {
        // A block that straddles two frames has no one offset (null): locate gives its first byte's.
        const at = session.locate(r.address)!.offset;
        if (r.offset !== null) expect(at).toBe(r.offset);
        else straddling++;
        const w = session.bytes(at, 64);
        expect(w.spans[0]).toMatchObject({ offset: at, row, label: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type' });
      }
      expect(straddling).toBeGreaterThan(0);
      expect(source.bytesRead).toBeLessThan(afterDecode + 2 * MB);
    } finally {
      session.close();
    }
  });
});

describe('Session.decode: each row names the worst diagnostic about it', () => {
  it.each([
    ['broken-shared', 'BLOCK_SHARED', 'blocks[1]'],
    ['broken-cycle', 'CYCLE', undefined],
  ])('%s: a %s about a block the walk did not add marks the block whose pointer leads there', (name, code, holder) => {
    const { session } = region(name);
    const d = session.diagnostics.find((x) => x.code === code)!;
    expect(d.row).toBe(-1);
    // The holder: the previous sibling (NextBlock) or the parent (DependentBlockList) of where the block would be.
    const m = /^(.*)\[(\d+)\]$/.exec(d.path)!;
    const want = holder ?? (Number(m[2]) > 0 ? `${m[1]}[${Number(m[2]) - 1}]` : m[1]!.replace(/\.dependents$/, ''));
    const row = session.rows.find((r) => r.path === want)!;
    expect(row.severity).toBe('error');
    // Rows no error concerns have none.
    const errorPaths = new Set(session.diagnostics.filter((x) => x.severity === 'error').map((x) => x.path));
    expect(session.rows.filter((r) => r.severity === 'error' && r !== row && !errorPaths.has(r.path))).toEqual([]);
  });
});
