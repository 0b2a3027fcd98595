/**
 * Hostile input, generated: random images (words biased to point back into the image, aligned or
 * not), and valid images (test/support/arbitraries.ts) mutated: bit flips, truncation, links
 * redirected into self-loops, cycles, shared blocks, out-of-image, misaligned and truncated
 * targets, wrong Header.Size and Header.Length, unknown and other layers' Types, context cells and
 * address pointers sent elsewhere.
 *
 * - decodeTree always returns a document whose diagnostics are well formed (a documented code at
 *   its documented severity, a path, an address, an offset), with every block it lists inside the
 *   image, within its limits, in bounded time, without modifying its input; a mutation gives the
 *   diagnostic that names it; and decode -> encodeOntoCopy reproduces even a broken capture;
 * - StatusWriter.complete either completes (changing only Status words of blocks decodeTree
 *   finds, exactly when decodeTree finds no broken link) or throws an OffloadError and leaves the
 *   image byte-identical;
 * - BlockChains' nested loops visit what a bound-mode TreeWalker visits and end with the same
 *   error (class, reason, address, blocks before it), never another exception;
 * - encodeOntoCopy and encodeTree with mutated documents either succeed or throw an EncodeError
 *   whose path names the mutated place, and never touch the capture.
 *
 * Memory: the heap retained across all runs of a property is bounded (measured after a GC).
 * Replay a failure with the seed and path fast-check prints: see test/support/arbitraries.ts.
 */
import { DIAGNOSTIC_SEVERITY } from '../../src/tree/document.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EncodeError, OffloadError } from '../../src/errors.js';
import { Location, SegmentImage } from '../../src/codec/image.js';
import { type Abi, X64 } from '../../src/layout/abi.js';
import { OFFLOAD_STATE_TYPE, type Operation } from '../../src/layout/constants.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import { layoutOf } from '../../src/layout/registry.js';
import { type DecodeOptions, decodeTree } from '../../src/tree/decode.js';
import type { BlockJson, TreeDocument } from '../../src/tree/document.js';
import { type BlockInput, type EncodeInput, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import { type CompleteOptions, StatusWriter } from '../../src/tree/status-writer.js';
import {
  ABI_LIST,
  OPERATIONS,
  REVISIONS,
  type TreeCase,
  fcParams,
  hexPtr,
  junk,
  pointerArb,
  preorder,
  statusWordArb,
  treeCaseArb,
} from '../support/arbitraries.js';
import { chainsTrace, walkerTrace } from '../support/chain-walks.js';

// ---- measuring ------------------------------------------------------------------------------------

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/**
 * Per-case bound, in CPU time of this process (not wall-clock time, which a loaded shared machine
 * stretches at random): generous, yet a quadratic walk over these images blows it.
 */
const CASE_MS = 1500;
/** Heap retained across all runs of one property (after a GC): no cache or leak grows with use. */
const RETAINED_BYTES = 48 << 20;
let slowest = { ms: 0, what: '' };
afterAll(() => console.info(`hostile: slowest case ${slowest.ms.toFixed(1)} ms of CPU (${slowest.what})`));

function timed<T>(what: string, fn: () => T): T {
  const t = process.cpuUsage();
  const out = fn();
  const used = process.cpuUsage(t);
  const ms = (used.user + used.system) / 1000;
  if (ms > slowest.ms) slowest = { ms, what };
  expect(ms, `${what} took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_MS);
  return out;
}

/** Runs a property and checks the heap it leaves behind. */
function assertBounded<T>(property: fc.IProperty<T>, params: fc.Parameters<T>): void {
  const before = heapAfterGc();
  fc.assert(property, fcParams(params));
  const grown = heapAfterGc() - before;
  expect(grown, `heap retained after the property: ${(grown / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(RETAINED_BYTES);
}

// ---- what a document may say ---------------------------------------------------------------------

/** Every code at its severity (test/docs/diagnostic-codes.test.ts holds this table to docs/json-format.md's). */
const SEVERITY: Readonly<Record<string, string>> = DIAGNOSTIC_SEVERITY;
/** The codes of a link the writer cannot follow (the writer throws where decode reports one of these). */
const BROKEN_LINK = new Set(['POINTER_OUTSIDE_IMAGE', 'BLOCK_TRUNCATED', 'CYCLE', 'BLOCK_SHARED']);
const PATH = /^blocks(\[\d+\](\.dependents\[\d+\])*)?$/;

const snapshot = (image: SegmentImage): Uint8Array[] => image.segments.map((s) => s.bytes.slice());
const unchanged = (image: SegmentImage, before: Uint8Array[]): boolean => image.segments.every((s, i) => Buffer.from(s.bytes).equals(Buffer.from(before[i]!)));

/** decodeTree, checked: a document (never a throw), well formed, blocks in the image, limits kept, input untouched. */
function decodeChecked(image: SegmentImage, root: bigint, options: DecodeOptions & { abi: Abi; ndis: NdisRevision }, what: string): TreeDocument {
  const before = snapshot(image);
  const doc = timed(what, () => decodeTree(image, root, options));
  expect(unchanged(image, before), `${what}: decodeTree modified its input`).toBe(true);
  const hexLen = options.abi.pointerSize * 2;
  const max = options.maxDiagnostics ?? 1000;
  // Listed diagnostics, one summary per code at most, and DIAGNOSTICS_LIMIT.
  expect(doc.diagnostics.filter((d) => d.count === undefined && d.code !== 'DIAGNOSTICS_LIMIT').length).toBeLessThanOrEqual(max);
  expect(doc.diagnostics.length).toBeLessThanOrEqual(max + Object.keys(SEVERITY).length);
  doc.diagnostics.forEach((d, i) => {
    expect(SEVERITY[d.code], `${what}: undocumented code ${d.code}`).toBeDefined();
    expect(d.severity, d.code).toBe(SEVERITY[d.code]);
    expect(d.path, d.code).toMatch(PATH);
    expect(d.address, d.code).toMatch(new RegExp(`^0x[0-9a-f]{${hexLen}}$`));
    expect(d.offset === null || (Number.isInteger(d.offset) && d.offset >= 0), d.code).toBe(true);
    expect(typeof d.message).toBe('string');
    if (d.code === 'DIAGNOSTICS_LIMIT') expect(i).toBe(doc.diagnostics.length - 1);
  });
  const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', options.abi, options.ndis).size;
  const loc = new Location();
  const nodes = preorder(doc.blocks as unknown as BlockInput[]);
  expect(nodes.length).toBeLessThanOrEqual(options.maxBlocks ?? 1 << 20);
  const seen = new Set<string>();
  for (const { block, layer } of nodes) {
    const b = block as unknown as BlockJson;
    expect(image.locate(BigInt(b.address), blockSize, loc), `${b.address} is not in the image`).toBe(true);
    // (null for a block gathered across two segments that touch: it has no one offset.)
    expect(b.offset).toBe(loc.imageOffset >= 0 ? loc.imageOffset : null);
    expect(b.layer).toBe(['neighbor', 'path', 'tcp'][layer]);
    expect(seen.has(b.address), `${b.address} listed twice`).toBe(false);
    seen.add(b.address);
  }
  return doc;
}

const codesOf = (doc: TreeDocument): Set<string> => new Set(doc.diagnostics.map((d) => d.code));

// ---- random images ----------------------------------------------------------------------------------

interface RandomImage {
  abi: Abi;
  ndis: NdisRevision;
  operation: Operation | undefined;
  image: SegmentImage;
  root: bigint;
  maxBlocks: number | undefined;
  maxDiagnostics: number | undefined;
}

const BASES = { x64: 0xffffc70a12340000n, x86: 0x80a00000n } as const;

/** Words of an image, most of them pointing into it (aligned or not), in one region or two segments with a gap. */
const randomImageArb: fc.Arbitrary<RandomImage> = fc
  .record({
    abi: fc.constantFrom(...ABI_LIST),
    ndis: fc.constantFrom(...REVISIONS),
    operation: fc.option(fc.constantFrom(...OPERATIONS), { nil: undefined }),
    count: fc.integer({ min: 1, max: 700 }),
    split: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    gap: fc.integer({ min: 0, max: 4096 }),
    limits: fc.option(fc.record({ maxBlocks: fc.integer({ min: 1, max: 50 }), maxDiagnostics: fc.integer({ min: 1, max: 20 }) }), { nil: undefined }),
  })
  .chain(({ abi, ndis, operation, count, split, gap, limits }) => {
    const ptr = abi.pointerSize;
    const length = count * ptr;
    const base = BASES[abi.name];
    const into = fc.tuple(fc.nat(length), fc.constantFrom(0, 0, 0, 1, 3, 4)).map(([o, skew]) => base + BigInt((o & ~(ptr - 1)) + skew));
    const word = fc.oneof(
      { weight: 5, arbitrary: into },
      { weight: 2, arbitrary: fc.constant(0n) },
      { weight: 1, arbitrary: fc.constantFrom(152n, 76n, 40n, 24n, 1n, 4n, 8n) },
      { weight: 2, arbitrary: pointerArb(abi) },
    );
    const root = fc.oneof({ weight: 6, arbitrary: into }, { weight: 1, arbitrary: pointerArb(abi) }, { weight: 2, arbitrary: fc.constant(base) });
    return fc.tuple(fc.array(word, { minLength: count, maxLength: count }), root).map(([words, r]) => {
      const bytes = new Uint8Array(length);
      const dv = new DataView(bytes.buffer);
      words.forEach((w, i) => (ptr === 8 ? dv.setBigUint64(i * 8, w, true) : dv.setUint32(i * 4, Number(w), true)));
      let image: SegmentImage;
      if (split === undefined || count < 2) image = SegmentImage.region(bytes, base);
      else {
        // Two segments: the second moved up by `gap` bytes, so pointers into the gap lead nowhere.
        const cut = Math.max(1, Math.min(count - 1, Math.floor(split * count))) * ptr;
        image = new SegmentImage([
          { base, bytes: bytes.slice(0, cut) },
          { base: base + BigInt(cut + gap), bytes: bytes.slice(cut) },
        ]);
      }
      return { abi, ndis, operation, image, root: r, maxBlocks: limits?.maxBlocks, maxDiagnostics: limits?.maxDiagnostics };
    });
  });

describe('random images', () => {
  it('decodeTree: a well-formed document within its limits, in bounded time, input untouched', () => {
    assertBounded(
      fc.property(randomImageArb, (c) => {
        const options = {
          abi: c.abi,
          ndis: c.ndis,
          ...(c.operation ? { operation: c.operation } : {}),
          ...(c.maxBlocks ? { maxBlocks: c.maxBlocks } : {}),
          ...(c.maxDiagnostics ? { maxDiagnostics: c.maxDiagnostics } : {}),
        };
        const doc = decodeChecked(c.image, c.root, options, 'decode of random words');
        if (c.root === 0n) expect([...codesOf(doc)]).toEqual(['ROOT_NULL']);
        expect(doc.base).toBe(c.image.kind === 'region' ? hexPtr(c.image.segments[0]!.base, c.abi) : null);
      }),
      { numRuns: 300 },
    );
  });

  it('StatusWriter.complete: completes or throws an OffloadError, and on error the image is byte-identical', () => {
    const writer = new StatusWriter();
    assertBounded(
      fc.property(randomImageArb, fc.option(statusWordArb, { nil: undefined }), fc.constantFrom(...OPERATIONS), (c, status, operation) => {
        const before = snapshot(c.image);
        const options: CompleteOptions = { operation, abi: c.abi, ...(status === undefined ? {} : { status }), ...(c.maxBlocks ? { maxBlocks: c.maxBlocks } : {}) };
        try {
          timed('complete of random words', () => writer.complete(c.image, c.root, options));
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(OffloadError);
          expect(unchanged(c.image, before), `${(e as Error).message}: the image changed`).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

// ---- valid images, mutated -----------------------------------------------------------------------------

type Target = 'self' | 'root' | 'block' | 'outside' | 'misaligned' | 'inside' | 'truncated' | 'null';
type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'link'; block: number; member: 'NextBlock' | 'DependentBlockList'; target: Target; other: number; skew: number }
  | { kind: 'size'; block: number; value: number }
  | { kind: 'type'; block: number; value: number }
  | { kind: 'length'; block: number; value: number }
  | { kind: 'context'; block: number; target: Target; other: number; skew: number }
  | { kind: 'address'; block: number; member: 'SourceAddress' | 'DestinationAddress'; target: Target; other: number; skew: number };

const targetArb = fc.constantFrom<Target>('self', 'root', 'block', 'outside', 'misaligned', 'inside', 'truncated', 'null');
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('link' as const), block: fc.nat(), member: fc.constantFrom('NextBlock' as const, 'DependentBlockList' as const), target: targetArb, other: fc.nat(), skew: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ kind: fc.constant('size' as const), block: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('type' as const), block: fc.nat(), value: fc.oneof(fc.constantFrom(0, 16, 0x42, 0xfe, 0xff), fc.integer({ min: 1, max: 17 })) }),
  fc.record({ kind: fc.constant('length' as const), block: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 0xffffffff), fc.integer({ min: 0, max: 400 })) }),
  fc.record({ kind: fc.constant('context' as const), block: fc.nat(), target: targetArb, other: fc.nat(), skew: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ kind: fc.constant('address' as const), block: fc.nat(), member: fc.constantFrom('SourceAddress' as const, 'DestinationAddress' as const), target: targetArb, other: fc.nat(), skew: fc.integer({ min: 1, max: 7 }) }),
);

interface Mutated {
  tc: TreeCase;
  bytes: Uint8Array;
  /** The diagnostic codes the (single) mutation must produce, at least one of each group. */
  expect: string[][];
}

const offsetOfMember = (abi: Abi, ndis: NdisRevision, struct: string, name: string): number =>
  layoutOf(struct, abi, ndis).fields.find((f) => f.name === name)!.offset;

/** Applies one mutation to the junked image of a case, and says what the decoder must report. */
function mutate(tc: TreeCase, image: Uint8Array, doc: TreeDocument, m: Mutation): Mutated {
  const { abi, ndis } = tc;
  const bytes = image.slice();
  const dv = new DataView(bytes.buffer);
  const ptr = abi.pointerSize;
  const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis).size;
  const nodes = preorder(doc.blocks as unknown as BlockInput[]).map((n) => ({ ...n, b: n.block as unknown as BlockJson }));
  const pick = (i: number) => nodes[i % nodes.length]!;
  const setPtr = (at: number, v: bigint): void => (ptr === 8 ? dv.setBigUint64(at, v, true) : dv.setUint32(at, Number(v), true));
  const end = tc.base + BigInt(bytes.length);
  const addressFor = (target: Target, self: BlockJson, other: number, skew: number): bigint => {
    const o = BigInt(pick(other).b.address);
    switch (target) {
      case 'self':
        return BigInt(self.address);
      case 'root':
        return tc.base;
      case 'block':
        return o;
      case 'outside':
        return [tc.base - BigInt(blockSize) - 8n, end + 64n, end, BigInt.asUintN(ptr * 8, -16n)][skew % 4]!;
      case 'misaligned':
        return o + BigInt(skew % ptr || 1);
      case 'inside':
        return o + BigInt(ptr * 2);
      case 'truncated':
        return end - BigInt(blockSize) + 8n;
      case 'null':
        return 0n;
    }
  };
  const out: Mutated = { tc, bytes, expect: [] };
  // After an earlier mutation (a truncation) a block may sit near the end: leave what would not fit.
  const fits = (at: number, n: number): boolean => at >= 0 && at + n <= bytes.length;
  switch (m.kind) {
    case 'flip':
      bytes[m.at % bytes.length]! ^= 1 << m.bit;
      return out;
    case 'truncate': {
      const keep = Math.max(1, Math.floor(m.keep * bytes.length));
      return { tc, bytes: bytes.slice(0, keep), expect: [] };
    }
    case 'link': {
      const { b, layer } = pick(m.block);
      if (!fits(b.offset!, blockSize)) return out;
      const target = addressFor(m.target, b, m.other, m.skew);
      setPtr(b.offset! + offsetOfMember(abi, ndis, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', m.member), target);
      const followed = m.member === 'NextBlock' || layer < 2;
      if (m.member === 'DependentBlockList' && layer === 2 && target !== 0n) out.expect.push(['TCP_HAS_DEPENDENTS']);
      else if (followed && target !== 0n) {
        if (m.target === 'self' || m.target === 'root') out.expect.push(['CYCLE']);
        if (m.target === 'outside') out.expect.push(['POINTER_OUTSIDE_IMAGE', 'BLOCK_TRUNCATED']);
        if (m.target === 'truncated') out.expect.push(['BLOCK_TRUNCATED']);
        if (m.target === 'misaligned') out.expect.push(['POINTER_MISALIGNED']);
      }
      return out;
    }
    case 'size': {
      const { b } = pick(m.block);
      if (!fits(b.offset!, blockSize)) return out;
      dv.setUint16(b.offset! + 2, m.value, true);
      if (m.value !== blockSize) out.expect.push(['HEADER_SIZE_MISMATCH']);
      return out;
    }
    case 'type': {
      const { b, layer } = pick(m.block);
      if (!fits(b.offset!, blockSize)) return out;
      dv.setUint8(b.offset!, m.value);
      const t = OFFLOAD_STATE_TYPE.find((x) => x.value === m.value);
      if (b.role !== 'placeholder') {
        if (!t?.layer) out.expect.push(['TYPE_UNKNOWN']);
        else if (t.layer !== ['neighbor', 'path', 'tcp'][layer]) out.expect.push(['TYPE_LAYER_MISMATCH']);
      }
      return out;
    }
    case 'length': {
      const { b } = pick(m.block);
      // The first part starts right after the block.
      const first = Object.keys(b.state ?? {})[0];
      if (!first || !fits(b.offset! + blockSize, 4)) return out;
      dv.setUint32(b.offset! + blockSize, m.value, true);
      if (m.value !== layoutOf(first, abi, ndis).size) out.expect.push(['STATE_LENGTH_MISMATCH']);
      return out;
    }
    case 'context': {
      const { b } = pick(m.block);
      if (!fits(b.offset!, blockSize)) return out;
      setPtr(b.offset! + offsetOfMember(abi, ndis, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', 'MiniportOffloadContext'), addressFor(m.target, b, m.other, m.skew));
      if (m.target === 'outside' && b.role !== 'placeholder') out.expect.push(['CONTEXT_OUTSIDE_IMAGE']);
      return out;
    }
    case 'address': {
      const { b } = pick(m.block);
      const part = b.state?.PATH_OFFLOAD_STATE_CONST;
      if (!part || !('*SourceAddress' in part)) return out;
      const type = OFFLOAD_STATE_TYPE.find((t) => t.name === b.type)!;
      const partOffset = type.combined ? offsetOfMember(abi, ndis, type.combined, 'ConstState') : 0;
      const target = addressFor(m.target, b, m.other, m.skew);
      if (!fits(b.offset! + blockSize + partOffset, layoutOf('PATH_OFFLOAD_STATE_CONST', abi, ndis).size)) return out;
      setPtr(b.offset! + blockSize + partOffset + offsetOfMember(abi, ndis, 'PATH_OFFLOAD_STATE_CONST', m.member), target);
      if (m.target === 'null') out.expect.push(['ADDRESS_NULL']);
      if (m.target === 'outside') out.expect.push(['ADDRESS_OUTSIDE_IMAGE']);
      return out;
    }
  }
}

function junkedImage(tc: TreeCase, seed: number): { bytes: Uint8Array; doc: TreeDocument } {
  const enc = encodeTree(JSON.parse(JSON.stringify(tc.doc)) as EncodeInput);
  const opts = { abi: tc.abi, ndis: tc.ndis, operation: tc.operation };
  const clean = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, opts);
  const bytes = encodeOntoCopy(JSON.parse(JSON.stringify(clean)) as EncodeInput, junk(seed, enc.bytes.length), enc.base);
  return { bytes, doc: decodeTree(SegmentImage.region(bytes, enc.base), enc.root, opts) };
}

const mutatedArb = fc
  .tuple(treeCaseArb(), fc.integer(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([tc, seed, ms]) => {
    const { bytes, doc } = junkedImage(tc, seed);
    if (ms.length === 1) return mutate(tc, bytes, doc, ms[0]!);
    // Several mutations: each applied to the result of the last; nothing specific is expected.
    let cur: Mutated = { tc, bytes, expect: [] };
    for (const m of ms) {
      const now = decodeTree(SegmentImage.region(cur.bytes, tc.base), tc.base, { abi: tc.abi, ndis: tc.ndis, operation: tc.operation });
      cur = now.blocks.length ? { ...mutate(tc, cur.bytes, now, m), expect: [] } : cur;
    }
    return cur;
  });

describe('valid images, mutated', () => {
  const writer = new StatusWriter();

  it('decodeTree reports each mutation with its diagnostic, and decode -> encodeOntoCopy reproduces the broken capture', () => {
    assertBounded(
      fc.property(mutatedArb, fc.boolean(), ({ tc, bytes, expect: want }, withOperation) => {
        const image = SegmentImage.region(bytes, tc.base);
        const options = { abi: tc.abi, ndis: tc.ndis, ...(withOperation ? { operation: tc.operation } : {}) };
        const doc = decodeChecked(image, tc.base, options, 'decode of a mutated image');
        const codes = codesOf(doc);
        if (withOperation) for (const group of want) expect(group.some((c) => codes.has(c)), `expected one of ${group.join(', ')}; got ${[...codes].join(', ')}`).toBe(true);
        // Whatever the capture, what decode read is what encodeOnto writes back.
        const before = bytes.slice();
        const out = timed('encodeOntoCopy of a mutated image', () => encodeOntoCopy(JSON.parse(JSON.stringify(doc)) as EncodeInput, bytes, tc.base));
        expect(Buffer.from(out).equals(Buffer.from(bytes)), 'decode -> encodeOntoCopy changed the capture\'s bytes').toBe(true);
        expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('StatusWriter.complete succeeds exactly when decodeTree finds no broken link, writing only Status words of the blocks it found; else throws and writes nothing', () => {
    assertBounded(
      fc.property(mutatedArb, ({ tc, bytes }) => {
        const doc = decodeTree(SegmentImage.region(bytes.slice(), tc.base), tc.base, { abi: tc.abi, ndis: tc.ndis });
        const broken = doc.diagnostics.filter((d) => BROKEN_LINK.has(d.code)).map((d) => `${d.code} at ${d.path}`);
        const before = bytes.slice();
        // SUCCESS is allowed by every operation: nothing can be refused, so only the links decide.
        let error: unknown;
        try {
          timed('complete of a mutated image', () => writer.complete(SegmentImage.region(bytes, tc.base), tc.base, { operation: tc.operation, abi: tc.abi }));
        } catch (e) {
          error = e;
        }
        if (error !== undefined) {
          expect(error, String(error)).toBeInstanceOf(OffloadError);
          expect(Buffer.from(bytes).equals(Buffer.from(before)), 'the writer threw after writing').toBe(true);
          expect(broken.length, `the writer refused (${(error as Error).message}) a tree decodeTree walks cleanly`).toBeGreaterThan(0);
          return;
        }
        expect(broken, 'the writer completed a tree with broken links').toEqual([]);
        const statusAt = offsetOfMember(tc.abi, tc.ndis, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', 'Status');
        const words = new Set(preorder(doc.blocks as unknown as BlockInput[]).flatMap(({ block }) => [0, 1, 2, 3].map((k) => (block.offset as number) + statusAt + k)));
        for (let i = 0; i < bytes.length; i++) if (bytes[i] !== before[i] && !words.has(i)) expect.fail(`byte ${i} changed outside every Status word`);
      }),
      { numRuns: 150 },
    );
  });

  it('BlockChains visits what a bound-mode TreeWalker visits, and ends with the same error at the same block', () => {
    assertBounded(
      fc.property(mutatedArb, fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), ({ tc, bytes }, maxBlocks) => {
        const image = SegmentImage.region(bytes, tc.base);
        const chains = timed('BlockChains walk of a mutated image', () => chainsTrace(image, tc.base, tc.abi, maxBlocks));
        expect(chains).toEqual(walkerTrace(image, tc.base, tc.abi, maxBlocks));
      }),
      { numRuns: 150 },
    );
  });
});

// ---- documents, mutated --------------------------------------------------------------------------------

interface DocMutation {
  name: string;
  /** Checked with encodeTree (compact): encodeOnto does not use it (role only decides compact context cells). */
  compact?: true;
  /** Changes the document; returns the path the EncodeError must name (a prefix of it, for garbage). */
  apply(doc: Record<string, unknown>, block: Record<string, unknown>, path: string): string;
}

const firstPart = (block: Record<string, unknown>): [string, Record<string, unknown>] | undefined => {
  const state = block.state as Record<string, Record<string, unknown>> | undefined;
  const first = state && Object.entries(state)[0];
  return first;
};

/** A bit-field of each part that has one, and a value one past its maximum. */
const BIT_FIELDS: Readonly<Record<string, [string, number]>> = {
  NEIGHBOR_OFFLOAD_STATE_CONST: ['VlanId', 4096],
  TCP_OFFLOAD_STATE_CONST: ['SndWindScale', 16],
  TCP_OFFLOAD_STATE_CACHED: ['FlowLabel', 1 << 20],
};

const DOC_MUTATIONS: DocMutation[] = [
  { name: 'no address', apply: (_d, b, p) => (delete b.address, `${p}.address`) },
  { name: 'an address that is not a number', apply: (_d, b, p) => ((b.address = 'here'), `${p}.address`) },
  { name: 'an address outside the capture', apply: (_d, b, p) => ((b.address = '0x10'), p) },
  { name: 'a value too large', apply: (_d, b, p) => ((b.PortNumber = 2 ** 33), `${p}.PortNumber`) },
  { name: 'a negative value', apply: (_d, b, p) => ((b.PortNumber = -1), `${p}.PortNumber`) },
  { name: 'a fraction', apply: (_d, b, p) => ((b.PortNumber = 1.5), `${p}.PortNumber`) },
  { name: 'a pointer too wide', apply: (_d, b, p) => ((b.SourceHandle = `0x1${'0'.repeat(16)}`), `${p}.SourceHandle`) },
  { name: 'a string where a number goes', apply: (_d, b, p) => (((b.Header as Record<string, unknown>).Revision = 'one'), `${p}.Header.Revision`) },
  { name: 'a pointer array too short', apply: (_d, b, p) => ((b.NdisReserved = ['0x0']), `${p}.NdisReserved`) },
  { name: 'a pointer array of junk', apply: (_d, b, p) => ((b.Scratch = ['0x0', {}]), `${p}.Scratch[1]`) },
  { name: 'a struct that is not an object', apply: (_d, b, p) => ((b.Header = [1, 2]), `${p}.Header`) },
  { name: 'a misspelt member', apply: (_d, b, p) => ((b.NextBlok = '0x0'), `${p}.NextBlok`) },
  { name: 'an unknown role', compact: true, apply: (_d, b, p) => ((b.role = 'boss'), `${p}.role`) },
  { name: 'an unknown type', apply: (_d, b, p) => ((b.type = 'TcpOffloadEverything'), `${p}.type`) },
  { name: 'a Status that is no status', apply: (_d, b, p) => ((b.Status = 'NDIS_STATUS_MAYBE'), `${p}.Status`) },
  { name: 'a Status of 33 bits', apply: (_d, b, p) => ((b.Status = 2 ** 32), `${p}.Status`) },
  { name: 'a context cell that is not a pointer', apply: (_d, b, p) => ((b.MiniportOffloadContext = b.MiniportOffloadContext ?? b.address), (b['*MiniportOffloadContext'] = true), `${p}.*MiniportOffloadContext`) },
  { name: 'dependents that are not a list', apply: (_d, b, p) => ((b.dependents = { 0: {} }), `${p}.dependents`) },
  // (On a TCP block the error is that it has dependents at all.)
  { name: 'a block that is not an object', apply: (_d, b, p) => ((b.dependents = [null]), `${p}.dependents`) },
  { name: 'state on a type that carries none', apply: (_d, b, p) => ((b.type = 'TcpOffloadResourceState'), (b.state = { TCP_OFFLOAD_STATE_CONST: {} }), `${p}.state`) },
  {
    name: 'a state part of another type',
    apply: (_d, b, p) => {
      const type = OFFLOAD_STATE_TYPE.find((t) => t.name === b.type && t.parts.length);
      if (!type) return '';
      const other = type.parts[0] === 'TCP_OFFLOAD_STATE_CONST' ? 'NEIGHBOR_OFFLOAD_STATE_CONST' : 'TCP_OFFLOAD_STATE_CONST';
      b.state = { ...(b.state as object), [other]: {} };
      return `${p}.state.${other}`;
    },
  },
  {
    name: 'a bit-field too wide',
    apply: (_d, b, p) => {
      const [name, part] = firstPart(b) ?? [];
      if (!part) return '';
      const bit = BIT_FIELDS[name!];
      if (!bit) return '';
      part[bit[0]] = bit[1];
      return `${p}.state.${name}.${bit[0]}`;
    },
  },
  {
    name: 'a state member that does not exist',
    apply: (_d, b, p) => {
      const [name, part] = firstPart(b) ?? [];
      if (!part) return '';
      part.Bogus = 1;
      return `${p}.state.${name}.Bogus`;
    },
  },
  {
    name: 'a state Length of 2^32',
    apply: (_d, b, p) => {
      const [name, part] = firstPart(b) ?? [];
      if (!part) return '';
      part.Header = { ...(part.Header as object), Length: 2 ** 32 };
      return `${p}.state.${name}.Header.Length`;
    },
  },
  {
    name: 'an IP address that is none',
    apply: (_d, b, p) => {
      const part = (b.state as Record<string, Record<string, unknown>> | undefined)?.PATH_OFFLOAD_STATE_CONST;
      if (!part || !('*SourceAddress' in part)) return '';
      part['*SourceAddress'] = String(part['*SourceAddress']).includes(':') ? '1::2::3' : '10.0.0.256';
      return `${p}.state.PATH_OFFLOAD_STATE_CONST.*SourceAddress`;
    },
  },
  {
    name: 'a link-layer address of 33 bytes',
    apply: (_d, b, p) => {
      const state = b.state as Record<string, Record<string, unknown>> | undefined;
      for (const [part, member] of [['NEIGHBOR_OFFLOAD_STATE_CONST', 'DlSourceAddress'], ['NEIGHBOR_OFFLOAD_STATE_CACHED', 'DlDestinationAddress']] as const) {
        if (!state?.[part]) continue;
        state[part][member] = 'ab'.repeat(33);
        return `${p}.state.${part}.${member}`;
      }
      return '';
    },
  },
  {
    name: 'union members that conflict',
    apply: (_d, b, p) => {
      const part = (b.state as Record<string, Record<string, unknown>> | undefined)?.TCP_OFFLOAD_STATE_DELEGATED;
      if (!part) return '';
      // Both edited, to values that do not share their bytes (one edited alternative alone wins
      // over the unedited other onto a capture: issue 22).
      const size = Number(part.SendBacklogSize);
      part.SendDataHead = `0x${((size + 1) % 2 ** 32).toString(16)}`;
      part.SendBacklogSize = (size + 2) % 2 ** 32;
      return `${p}.state.TCP_OFFLOAD_STATE_DELEGATED.Send`;
    },
  },
  {
    name: 'a connection state that is none',
    apply: (_d, b, p) => {
      const part = (b.state as Record<string, Record<string, unknown>> | undefined)?.TCP_OFFLOAD_STATE_DELEGATED;
      if (!part) return '';
      part.State = { name: 'TcpConnectionConfused' };
      return `${p}.state.TCP_OFFLOAD_STATE_DELEGATED.State`;
    },
  },
  { name: 'a wrong format', apply: (d) => ((d.format = 'ndis-offload-tree/2'), '$.format') },
  { name: 'an unknown ABI', apply: (d) => ((d.abi = 'arm64'), '$.abi') },
  { name: 'an unknown revision', apply: (d) => ((d.ndis = '6.2'), '$.ndis') },
  { name: 'no blocks', apply: (d) => ((d.blocks = 'all of them'), '$') },
];

/** A query tree with every kind of state part: every document mutation applies to it. */
const RICH: TreeCase = {
  abi: X64,
  ndis: '6.1',
  operation: 'query',
  base: 0xffffc70a12340000n,
  doc: {
    base: '0xffffc70a12340000',
    blocks: [
      {
        role: 'new-offload',
        type: 'NeighborOffloadState',
        state: { NEIGHBOR_OFFLOAD_STATE_CONST: {}, NEIGHBOR_OFFLOAD_STATE_CACHED: {}, NEIGHBOR_OFFLOAD_STATE_DELEGATED: {} },
        dependents: [
          {
            role: 'new-offload',
            type: 'Ip6OffloadState',
            state: {
              PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': 'fe80::1', '*DestinationAddress': 'fe80::2' },
              PATH_OFFLOAD_STATE_CACHED: {},
              PATH_OFFLOAD_STATE_DELEGATED: {},
            },
            dependents: [
              {
                role: 'new-offload',
                type: 'TcpOffloadState',
                state: { TCP_OFFLOAD_STATE_CONST: {}, TCP_OFFLOAD_STATE_CACHED: {}, TCP_OFFLOAD_STATE_DELEGATED: { SendBacklogSize: 7 } },
              },
            ],
          },
        ],
      },
    ],
  },
};

describe('documents, mutated', () => {
  it('encodeOntoCopy: an EncodeError naming the mutated place, the capture untouched', () => {
    const tried = new Map<string, number>();
    assertBounded(
      fc.property(treeCaseArb({ size: 'small' }), fc.integer(), fc.nat(), (tc, seed, pick) => {
        const { bytes, doc } = junkedImage(tc, seed);
        const before = bytes.slice();
        // Every mutation, each on a fresh copy of the document.
        for (const mutation of DOC_MUTATIONS) {
          const edited = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
          const nodes = preorder(edited.blocks as BlockInput[]);
          // The first block from `pick` on that the mutation applies to (some need a state part).
          let want = '';
          for (let k = 0; k < nodes.length && want === ''; k++) {
            const node = nodes[(pick + k) % nodes.length]!;
            want = mutation.apply(edited, node.block, node.path);
          }
          if (want === '') continue; // no block of this tree has what the mutation needs
          tried.set(mutation.name, (tried.get(mutation.name) ?? 0) + 1);
          let error: unknown;
          try {
            // No options: the document's own abi and ndis are what some mutations break.
            if (mutation.compact) encodeTree(edited as unknown as EncodeInput);
            else encodeOntoCopy(edited as unknown as EncodeInput, bytes, tc.base);
          } catch (e) {
            error = e;
          }
          expect(error, `${mutation.name}: no error`).toBeInstanceOf(EncodeError);
          expect((error as EncodeError).path.startsWith(want), `${mutation.name}: path ${(error as EncodeError).path}, expected ${want}`).toBe(true);
          expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
        }
      }),
      // First the rich tree, where every mutation applies, whatever the number of runs.
      { numRuns: 60, examples: [[RICH, 1, 0]] },
    );
    // Every mutation was tried on some block.
    expect(DOC_MUTATIONS.filter((m) => !tried.has(m.name)).map((m) => m.name)).toEqual([]);
  });

  it('any JSON in place of any value: success or an EncodeError, never another exception, the capture untouched', () => {
    const garbageArb = fc.oneof(
      fc.constantFrom<unknown>(null, '', 'hello', '-1', '0x', -1, 1.5, 2 ** 64, [], {}, true, [null], { name: 'x' }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    assertBounded(
      fc.property(treeCaseArb({ size: 'small' }), fc.integer(), fc.nat(3), fc.nat(), garbageArb, fc.boolean(), (tc, seed, depth, leafPick, garbage, compact) => {
        const { bytes, doc } = junkedImage(tc, seed);
        const edited = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
        // The places values sit, by kind: the document's own keys, blocks and their keys, state parts, any other.
        type Place = [Record<string | number, unknown>, string | number];
        const places: Place[][] = [[], [], [], []];
        const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
        const other = (v: unknown): void => {
          if (!isObj(v)) return;
          for (const [k, e] of Object.entries(v)) {
            places[3]!.push([v, Array.isArray(v) ? Number(k) : k]);
            other(e);
          }
        };
        const block = (holder: unknown[], i: number): void => {
          places[1]!.push([holder as unknown as Record<number, unknown>, i]);
          const b = holder[i];
          if (!isObj(b)) return;
          for (const [k, e] of Object.entries(b)) {
            places[1]!.push([b, k]);
            if (k === 'dependents' && Array.isArray(e)) e.forEach((_, j) => block(e, j));
            else if (k === 'state' && isObj(e)) {
              for (const [pk, pv] of Object.entries(e)) {
                places[2]!.push([e, pk]);
                other(pv);
              }
            } else other(e);
          }
        };
        for (const [k, e] of Object.entries(edited)) {
          places[0]!.push([edited, k]);
          if (k === 'blocks' && Array.isArray(e)) e.forEach((_, i) => block(e, i));
          else other(e);
        }
        const kinds = places.filter((p) => p.length);
        const list = kinds[depth % kinds.length]!;
        const [holder, key] = list[leafPick % list.length]!;
        holder[key] = garbage;
        const before = bytes.slice();
        try {
          if (compact) encodeTree(edited as unknown as EncodeInput);
          else encodeOntoCopy(edited as unknown as EncodeInput, bytes, tc.base);
        } catch (e) {
          expect(e, `${String(key)} = ${JSON.stringify(garbage)}: ${String(e)}`).toBeInstanceOf(EncodeError);
          expect(typeof (e as EncodeError).path).toBe('string');
        }
        expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
