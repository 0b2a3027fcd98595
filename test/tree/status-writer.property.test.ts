/**
 * The hot-path status writer over generated trees of every shape and operation
 * (test/support/arbitraries.ts), on images whose padding and gaps are junk, in one segment or cut
 * into several at block boundaries:
 *
 * - the bytes that change are Status words, and nothing else;
 * - every Status is what tree-rules.md says: placeholders SUCCESS; in initiate a linker SUCCESS /
 *   OFFLOAD_PARTIAL_SUCCESS / FAILURE by how many of its dependents succeeded (NT_SUCCESS), every
 *   other block the caller's decision: statusByAddress first, then decide, then status;
 * - decide is called once for each block the caller decides that the map does not, with its layer;
 * - a status the operation refuses throws StatusNotAllowedError naming a refused block, and the
 *   image is byte-identical afterwards;
 * - completing twice gives the same bytes, and one StatusWriter reused across trees of every size
 *   writes what a fresh one writes.
 *
 * Replay a failure with the seed and path fast-check prints: see test/support/arbitraries.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffloadError } from '../../src/errors.js';
import { type Location, type MemoryImage, SegmentImage } from '../../src/codec/image.js';
import { X64, X86 } from '../../src/layout/abi.js';
import { NDIS_STATUS_VALUES, type NdisStatusName, type Operation } from '../../src/layout/constants.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { BlockJson } from '../../src/tree/document.js';
import { type BlockInput, type EncodeInput, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import {
  CompletionError,
  type CompleteOptions,
  NoSuchBlockError,
  StatusNotAllowedError,
  StatusWriter,
  completeTree,
  toStatus,
} from '../../src/tree/status-writer.js';
import {
  ALLOWED,
  FAILURE,
  PARTIAL,
  type Role,
  SUCCESS,
  type TreeCase,
  allowed,
  callerDecides,
  fcParams,
  junk,
  modelCompletion,
  preorder,
  statusJson,
  statusWordArb,
  treeCaseArb,
} from '../support/arbitraries.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const NAME_OF = new Map<number, NdisStatusName>(Object.entries(NDIS_STATUS_VALUES).map(([k, v]) => [v, k as NdisStatusName]));

/** One writer for the whole file: its buffers grow and are reused across trees of every size. */
const shared = new StatusWriter();

interface Prepared {
  bytes: Uint8Array;
  base: bigint;
  nodes: { address: bigint; offset: number; role: Role; layer: number; owner: number }[];
}

/** A generated tree as an image whose padding and gaps are junk, with its blocks in preorder. */
function prepare(tc: TreeCase, seed: number): Prepared {
  const enc = encodeTree(clone(tc.doc));
  const opts = { abi: tc.abi, ndis: tc.ndis, operation: tc.operation };
  const doc = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, opts);
  const bytes = encodeOntoCopy(clone(doc) as unknown as EncodeInput, junk(seed, enc.bytes.length), enc.base);
  const nodes = preorder(doc.blocks as unknown as BlockInput[]).map(({ block, layer, owner }) => {
    const b = block as unknown as BlockJson;
    return { address: BigInt(b.address), offset: b.offset!, role: b.role, layer, owner };
  });
  return { bytes, base: enc.base, nodes };
}

/** The image: one region, or segments cut at some block starts (same addresses, separate views of the same bytes). */
function imageOf(p: Prepared, cuts: number[]): SegmentImage {
  const at = [...new Set(cuts.map((c) => p.nodes[c % p.nodes.length]!.offset).filter((o) => o > 0))].sort((a, b) => a - b);
  const bounds = [0, ...at, p.bytes.length];
  return new SegmentImage(bounds.slice(1).map((end, i) => ({ base: p.base + BigInt(bounds[i]!), bytes: p.bytes.subarray(bounds[i]!, end) })));
}

/** Where each block's decision comes from. */
type Source = 'map' | 'decide' | 'decide-undefined' | 'default';

const decisionsArb = (op: Operation) =>
  fc.record({
    /** Most cases only allowed statuses; some any word, so that refusals happen. */
    refuse: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    sources: fc.array(fc.constantFrom<Source>('map', 'decide', 'decide-undefined', 'default'), { minLength: 1, maxLength: 40 }),
    values: fc.array(fc.oneof(fc.constantFrom(...ALLOWED[op]), statusWordArb), { minLength: 1, maxLength: 40 }),
    allowedValues: fc.array(fc.constantFrom(...ALLOWED[op]), { minLength: 1, maxLength: 40 }),
    fallback: fc.option(fc.constantFrom(...ALLOWED[op]), { nil: undefined }),
    badFallback: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: statusWordArb }),
    byName: fc.boolean(),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    /** statusByAddress also names addresses where no block starts (inside a block, past the image). */
    stray: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    /** No statusByAddress and no decide: every decision is `status` (the writer's one-walk path). */
    only: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });

const statusAt = (pointerSize: number): number =>
  layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', pointerSize === 8 ? X64 : X86).fields.find((f) => f.name === 'Status')!.offset;

describe('StatusWriter over generated trees', () => {
  it('writes exactly the statuses the rules give, only into Status words, honouring statusByAddress, decide and status', () => {
    fc.assert(
      fc.property(
        treeCaseArb().chain((tc) => fc.tuple(fc.constant(tc), fc.integer(), decisionsArb(tc.operation))),
        ([tc, seed, d]) => {
          const p = prepare(tc, seed);
          const op = tc.operation;
          const n = p.nodes.length;
          const source = (i: number): Source => (d.only ? 'default' : d.sources[i % d.sources.length]!);
          const value = (i: number): number => (d.refuse ? d.values[i % d.values.length]! : d.allowedValues[i % d.allowedValues.length]!);
          const fallback = d.refuse && d.badFallback !== undefined ? d.badFallback : d.fallback;
          const spell = (v: number): number | NdisStatusName => (d.byName && NAME_OF.has(v) ? NAME_OF.get(v)! : v);

          const map = new Map<bigint, number | NdisStatusName>();
          p.nodes.forEach((node, i) => source(i) === 'map' && map.set(node.address, spell(value(i))));
          // Entries that name no block (inside a block, past the image) are refused, never ignored.
          const stray = [p.base + 4n, p.base + BigInt(p.bytes.length) + 0x1000n];
          if (d.stray) for (const a of stray) map.set(a, NDIS_STATUS_VALUES.NDIS_STATUS_PENDING);

          const byAddress = new Map(p.nodes.map((node, i) => [node.address, i]));
          const calls: [number, number][] = [];
          const options: CompleteOptions = {
            operation: op,
            abi: tc.abi,
            ...(fallback !== undefined ? { status: spell(fallback) } : {}),
            ...(d.only
              ? {}
              : {
                  statusByAddress: map,
                  decide: (address: bigint, layer: number) => {
                    const i = byAddress.get(address);
                    calls.push([i ?? -1, layer]);
                    return i !== undefined && source(i) === 'decide' ? spell(value(i)) : undefined;
                  },
                }),
          };
          const expected = modelCompletion(p.nodes, op, (i) =>
            source(i) === 'map' || source(i) === 'decide' ? value(i) : (fallback ?? SUCCESS),
          );

          const image = imageOf(p, d.cuts);
          const before = p.bytes.slice();
          if (d.stray && !d.only) {
            let error: unknown;
            try {
              shared.complete(image, p.base, options);
            } catch (e) {
              error = e;
            }
            expect(error).toBeInstanceOf(NoSuchBlockError);
            expect((error as NoSuchBlockError).addresses).toEqual(stray);
            expect((error as NoSuchBlockError).code).toBe('NO_SUCH_BLOCK');
            expect(Buffer.from(p.bytes).equals(Buffer.from(before))).toBe(true);
            return;
          }
          if (expected.refused.length) {
            let error: unknown;
            try {
              shared.complete(image, p.base, options);
            } catch (e) {
              error = e;
            }
            expect(error).toBeInstanceOf(StatusNotAllowedError);
            const e = error as StatusNotAllowedError;
            expect(e.code).toBe('STATUS_NOT_ALLOWED');
            expect(e.operation).toBe(op);
            const i = byAddress.get(e.address)!;
            expect(expected.refused).toContain(i);
            expect(e.status).toBe(expected.statuses[i]);
            expect(e.role).toBe(p.nodes[i]!.role);
            expect(allowed(op, e.status)).toBe(false);
            expect(Buffer.from(p.bytes).equals(Buffer.from(before))).toBe(true);
            return;
          }

          const summary = shared.complete(image, p.base, options);
          const dv = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
          const sAt = statusAt(tc.abi.pointerSize);
          const statusBytes = new Set<number>();
          p.nodes.forEach((node, i) => {
            for (let k = 0; k < 4; k++) statusBytes.add(node.offset + sAt + k);
            expect(dv.getInt32(node.offset + sAt, true), `block ${i} (${node.role}, layer ${node.layer})`).toBe(expected.statuses[i]);
          });
          for (let i = 0; i < p.bytes.length; i++) {
            if (p.bytes[i] !== before[i] && !statusBytes.has(i)) expect.fail(`byte ${i} changed outside every Status word`);
          }

          // decide: once per block the caller decides and the map does not, with its layer; never for others.
          const deciding = d.only ? [] : p.nodes.flatMap((node, i) => (callerDecides(node.role, op) && source(i) !== 'map' ? [i] : []));
          expect(calls.map(([i]) => i).sort((a, b) => a - b)).toEqual(deciding);
          for (const [i, layer] of calls) expect(layer).toBe(p.nodes[i]!.layer);

          // The summary counts what was written.
          const byRole = { placeholder: 0, linker: 0, 'new-offload': 0 };
          const byStatus: Record<string, number> = {};
          p.nodes.forEach((node, i) => {
            byRole[node.role]++;
            const name = statusJson(expected.statuses[i]!).name;
            byStatus[name] = (byStatus[name] ?? 0) + 1;
          });
          expect(summary).toEqual({ blocks: n, byRole, byStatus });

          // Completing twice gives the same bytes; a fresh writer writes what the reused one wrote.
          const once = p.bytes.slice();
          shared.complete(image, p.base, options);
          expect(Buffer.from(p.bytes).equals(Buffer.from(once))).toBe(true);
          const fresh = before.slice();
          const freshImage = SegmentImage.region(fresh, p.base);
          completeTree(freshImage, p.base, options);
          expect(Buffer.from(fresh).equals(Buffer.from(once))).toBe(true);
        },
      ),
      fcParams({ numRuns: 120 }),
    );
  });

  it('in initiate, every linker\'s written status follows from its dependents\' written statuses', () => {
    fc.assert(
      fc.property(
        treeCaseArb({ operations: ['initiate'], roles: ['linker', 'linker', 'new-offload', 'placeholder'] }),
        fc.integer(),
        fc.array(fc.constantFrom(...ALLOWED.initiate), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (tc, seed, decisions, only) => {
          const p = prepare(tc, seed);
          let k = 0;
          // Per-block decisions, or one status for every new offload (the writer's one-walk path).
          shared.complete(SegmentImage.region(p.bytes, p.base), p.base, {
            operation: 'initiate',
            abi: tc.abi,
            ...(only ? { status: decisions[0]! } : { decide: () => decisions[k++ % decisions.length] }),
          });
          const doc = decodeTree(SegmentImage.region(p.bytes, p.base), p.base, { abi: tc.abi, ndis: tc.ndis, operation: 'initiate' });
          const check = (blocks: BlockJson[]): void => {
            for (const b of blocks) {
              check(b.dependents);
              if (b.role === 'placeholder') expect(b.Status.value).toBe(SUCCESS);
              if (b.role !== 'linker') continue;
              const ok = b.dependents.filter((x) => x.Status.value >= 0).length;
              const want = ok === b.dependents.length ? SUCCESS : ok === 0 ? FAILURE : PARTIAL;
              expect(b.Status.value, `${b.address}: ${ok} of ${b.dependents.length} dependents succeeded`).toBe(want);
            }
          };
          check(doc.blocks);
        },
      ),
      fcParams({ numRuns: 80 }),
    );
  });
});

describe('StatusWriter details', () => {
  const sample = (): { bytes: Uint8Array; base: bigint } => {
    const enc = encodeTree({
      blocks: [
        {
          role: 'linker',
          type: 'NeighborOffloadState',
          '*MiniportOffloadContext': '0xffffc70a0f6e2a40',
          dependents: [
            { role: 'new-offload', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 } } },
            { role: 'new-offload', type: 'Ip6OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1280 } } },
          ],
        },
      ],
    });
    return { bytes: enc.bytes, base: enc.base };
  };

  it('a linker whose dependents partly fail gets PARTIAL_SUCCESS; all failing, FAILURE; none, SUCCESS', () => {
    for (const [first, second, want] of [
      ['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_RESOURCES', PARTIAL],
      ['NDIS_STATUS_FAILURE', 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES', FAILURE],
      ['NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS', 'NDIS_STATUS_SUCCESS', SUCCESS],
    ] as const) {
      const { bytes, base } = sample();
      let k = 0;
      const summary = completeTree(SegmentImage.region(bytes, base), base, { operation: 'initiate', decide: () => (k++ === 0 ? second : first) });
      const doc = decodeTree(SegmentImage.region(bytes, base), base, { operation: 'initiate' });
      expect(doc.blocks[0]!.Status.value).toBe(want);
      expect(doc.blocks[0]!.dependents.map((b) => b.Status.name)).toEqual([first, second]);
      expect(summary.byRole).toEqual({ placeholder: 0, linker: 1, 'new-offload': 2 });
    }
  });

  it('outside initiate a linker gets the caller\'s decision, and PARTIAL_SUCCESS is refused', () => {
    const { bytes, base } = sample();
    const before = bytes.slice();
    const linker = base;
    expect(() =>
      completeTree(SegmentImage.region(bytes, base), base, { operation: 'query', statusByAddress: new Map([[linker, 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS']]) }),
    ).toThrow(StatusNotAllowedError);
    expect(bytes).toEqual(before);
    completeTree(SegmentImage.region(bytes, base), base, { operation: 'query', statusByAddress: new Map([[linker, 'NDIS_STATUS_FAILURE']]) });
    const doc = decodeTree(SegmentImage.region(bytes, base), base, { operation: 'query' });
    expect(doc.blocks[0]!.Status.name).toBe('NDIS_STATUS_FAILURE');
    expect(doc.blocks[0]!.dependents.map((b) => b.Status.name)).toEqual(['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_SUCCESS']);
  });

  it('the error names the operation, the status, the block and its role', () => {
    const { bytes, base } = sample();
    try {
      completeTree(SegmentImage.region(bytes, base), base, { operation: 'update', status: 'NDIS_STATUS_PENDING' });
      expect.fail('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(StatusNotAllowedError);
      expect(e).toBeInstanceOf(OffloadError);
      const err = e as StatusNotAllowedError;
      expect(err.message).toContain('NDIS_STATUS_PENDING is not a status update allows (NDIS_STATUS_SUCCESS, NDIS_STATUS_FAILURE)');
      expect(err.message).toContain('new-offload block at 0x');
      expect(err.message).toContain('nothing was written');
      expect(err.role).toBe('new-offload');
    }
  });

  it('toStatus takes names and numbers, and refuses unknown names', () => {
    expect(toStatus('NDIS_STATUS_FAILURE')).toBe(FAILURE);
    expect(toStatus(0xc0000001)).toBe(FAILURE);
    expect(toStatus(-1)).toBe(-1);
    expect(() => toStatus('NDIS_STATUS_NOPE' as NdisStatusName)).toThrow(/unknown NDIS_STATUS name 'NDIS_STATUS_NOPE'/);
  });

  it('a read-only image is refused before anything is read', () => {
    const { bytes, base } = sample();
    const inner = SegmentImage.region(bytes, base);
    const readOnly: MemoryImage = {
      kind: 'paged',
      writable: false,
      locate: (a: bigint, s: number, out: Location) => inner.locate(a, s, out),
      locateHalves: (lo: number, hi: number, s: number, out: Location) => inner.locateHalves(lo, hi, s, out),
      explain: (a: bigint, s: number) => inner.explain(a, s),
      ranges: () => inner.ranges(),
    };
    expect(() => completeTree(readOnly, base, { operation: 'initiate' })).toThrow(CompletionError);
    expect(() => completeTree(readOnly, base, { operation: 'initiate' })).toThrow(/read-only/);
  });

  it('maxBlocks bounds the walk', () => {
    const { bytes, base } = sample();
    const before = bytes.slice();
    expect(() => completeTree(SegmentImage.region(bytes, base), base, { operation: 'initiate', maxBlocks: 2 })).toThrow(/more than 2 blocks/);
    expect(bytes).toEqual(before);
    expect(completeTree(SegmentImage.region(bytes, base), base, { operation: 'initiate', maxBlocks: 3 }).blocks).toBe(3);
  });
});
