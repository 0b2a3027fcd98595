/**
 * The rebuilt StatusWriter (a fast one-walk path and a general path, both on the TreeWalker)
 * against the writer it replaced: the same bytes, the same summary (key order included), the same
 * errors, on random trees, random roles and statuses, and hostile pointers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NDIS_STATUS_VALUES,
  OPERATIONS,
  SegmentImage,
  StatusWriter,
  X64,
  X86,
  encodeTree,
  layoutOf,
  type Abi,
  type BlockInput,
  type CompleteOptions,
  type NdisStatusName,
  type Role,
} from '../../src/index.js';
import { ReferenceStatusWriter } from '../support/status-writer-reference.js';

const TYPES = ['NeighborOffloadState', 'Ip4OffloadState', 'TcpOffloadState'] as const;
const ROLES: Role[] = ['placeholder', 'linker', 'new-offload'];
const STATUSES = Object.keys(NDIS_STATUS_VALUES) as NdisStatusName[];

type Shape = { role: number; dependents: Shape[] };
const shape = (depth: number): fc.Arbitrary<Shape> =>
  fc.record({
    role: fc.nat(2),
    dependents: depth < 2 ? fc.array(fc.constant(null).chain(() => shape(depth + 1)), { maxLength: 3 }) : fc.constant([]),
  });

function toBlocks(shapes: Shape[], layer: number): BlockInput[] {
  return shapes.map((s) => ({
    role: ROLES[s.role],
    type: TYPES[layer],
    ...(s.role === 1 ? { '*MiniportOffloadContext': '0x1000' } : {}),
    dependents: toBlocks(s.dependents, layer + 1),
  }));
}

function outcome(run: () => unknown): { ok: string } | { error: string } {
  try {
    return { ok: JSON.stringify(run()) };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

const arbitraryCase = fc.record({
  abi: fc.constantFrom<Abi>(X64, X86),
  trees: fc.array(shape(0), { minLength: 1, maxLength: 3 }),
  operation: fc.constantFrom(...OPERATIONS),
  status: fc.constantFrom<NdisStatusName | number>(...STATUSES, 0x40020001, 0x12345678),
  // 0: none, 1: statusByAddress, 2: decide
  decisions: fc.nat(2),
  picks: fc.array(fc.tuple(fc.nat(40), fc.constantFrom(...STATUSES)), { maxLength: 4 }),
  // Pointer rewrites: [block, member (0 next, 1 dependent, 2 context), target block or -1 outside]
  rewrites: fc.array(fc.tuple(fc.nat(40), fc.nat(2), fc.integer({ min: -1, max: 40 })), { maxLength: 2 }),
  maxBlocks: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
  // Segments: the image cut at some block starts (and one odd place).
  cuts: fc.array(fc.nat(40), { maxLength: 3 }),
  oddCut: fc.option(fc.nat(4000), { nil: undefined }),
});

describe('StatusWriter agrees with the writer it replaced', () => {
  it('on random trees, operations, statuses, decisions and hostile pointers', () => {
    const writer = new StatusWriter();
    const reference = new ReferenceStatusWriter();
    fc.assert(
      fc.property(arbitraryCase, (c) => {
        const base = c.abi === X64 ? 0xffffc70a12340000n : 0x81230000n;
        const enc = encodeTree({ blocks: toBlocks(c.trees, 0) }, { abi: c.abi, base });
        const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', c.abi);
        const at = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
        // Where the blocks are: every multiple of the block alignment that starts a block in the encoder's layout.
        const starts: number[] = [];
        {
          const dv = new DataView(enc.bytes.buffer);
          const ptr = (o: number): bigint => (c.abi.pointerSize === 8 ? dv.getBigUint64(o, true) : BigInt(dv.getUint32(o, true)));
          const stack = [0];
          while (stack.length) {
            const o = stack.pop()!;
            starts.push(o);
            for (const m of ['NextBlock', 'DependentBlockList']) {
              const p = ptr(o + at(m));
              if (p !== 0n) stack.push(Number(p - base));
            }
          }
        }
        const bytes = enc.bytes;
        const dv = new DataView(bytes.buffer);
        for (const [b, m, t] of c.rewrites) {
          const o = starts[b % starts.length]!;
          const member = ['NextBlock', 'DependentBlockList', 'MiniportOffloadContext'][m]!;
          const target = t < 0 ? base + 0x100000n : base + BigInt(starts[t % starts.length]!);
          if (c.abi.pointerSize === 8) dv.setBigUint64(o + at(member), target, true);
          else dv.setUint32(o + at(member), Number(target), true);
        }
        const options: CompleteOptions = { operation: c.operation, abi: c.abi, status: c.status, maxBlocks: c.maxBlocks };
        if (c.decisions === 1) options.statusByAddress = new Map(c.picks.map(([b, s]) => [base + BigInt(starts[b % starts.length]!), s]));
        if (c.decisions === 2) {
          const picks = new Map(c.picks.map(([b, s]) => [base + BigInt(starts[b % starts.length]!), s]));
          options.decide = (address) => picks.get(address);
        }
        const a = bytes.slice();
        const b = bytes.slice();
        const bounds = [...new Set([...c.cuts.map((k) => starts[k % starts.length]!), ...(c.oddCut !== undefined ? [c.oddCut % bytes.length] : [])])]
          .filter((o) => o > 0)
          .sort((x, y) => x - y);
        const segments = (buf: Uint8Array): SegmentImage => {
          const edges = [0, ...bounds, buf.length];
          return new SegmentImage(edges.slice(1).map((end, k) => ({ base: base + BigInt(edges[k]!), bytes: buf.subarray(edges[k]!, end) })));
        };
        const got = outcome(() => writer.complete(segments(a), base, options));
        const want = outcome(() => reference.complete(segments(b), base, options));
        expect(got).toEqual(want);
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('which pass a completion takes (StatusWriter.lastPass)', () => {
  // Two neighbors, each with a linker path over a new TCP block and a placeholder: 8 blocks.
  const tree = {
    blocks: [0, 1].map(() => ({
      role: 'linker' as const,
      type: 'NeighborOffloadState',
      '*MiniportOffloadContext': '0x1000',
      dependents: [{ role: 'linker' as const, type: 'Ip4OffloadState', '*MiniportOffloadContext': '0x1000', dependents: [{ role: 'new-offload' as const, type: 'TcpOffloadState' }, { role: 'placeholder' as const }] }],
    })),
  };
  const enc = encodeTree(tree);
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
  const second = enc.bytes.length / 2; // the second neighbor's subtree is laid out like the first, after it
  const run = (image: SegmentImage, options: Partial<CompleteOptions> = {}) => {
    const writer = new StatusWriter();
    const summary = writer.complete(image, enc.root, { operation: 'initiate', ...options });
    return { pass: writer.lastPass, summary };
  };
  const reference = (bytes: Uint8Array, options: Partial<CompleteOptions> = {}) => new ReferenceStatusWriter().complete(SegmentImage.region(bytes, enc.base), enc.root, { operation: 'initiate', ...options });

  it('immediate on a region laid out in address order, and what it writes is the reference writer\'s', () => {
    const bytes = enc.bytes.slice();
    const r = run(SegmentImage.region(bytes, enc.base));
    expect(r.pass).toBe('immediate');
    const expected = enc.bytes.slice();
    expect(r.summary).toEqual(reference(expected));
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
  });

  it('walk-then-write when the blocks are not in address order, with the same bytes', () => {
    expect(Number.isInteger(second) && second % block.align === 0).toBe(true);
    const next = block.fields.find((f) => f.name === 'NextBlock')!.offset;
    const bytes = enc.bytes.slice();
    const dv = new DataView(bytes.buffer);
    // Start at the second neighbor and go on from it to the first: the walk goes back in memory.
    dv.setBigUint64(next, 0n, true);
    dv.setBigUint64(second + next, enc.base, true);
    const expected = bytes.slice();
    const root = enc.base + BigInt(second);
    const writer = new StatusWriter();
    const summary = writer.complete(SegmentImage.region(bytes, enc.base), root, { operation: 'initiate' });
    expect(writer.lastPass).toBe('walk-then-write');
    expect(summary.blocks).toBe(8);
    expect(summary).toEqual(new ReferenceStatusWriter().complete(SegmentImage.region(expected, enc.base), root, { operation: 'initiate' }));
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
  });

  it('walk-then-write when a context cell lies before its block', () => {
    const bytes = enc.bytes.slice();
    const dv = new DataView(bytes.buffer);
    const context = block.fields.find((f) => f.name === 'MiniportOffloadContext')!.offset;
    // The second neighbor's context pointer sent back to the first neighbor's cell (same value: a linker).
    dv.setBigUint64(second + context, dv.getBigUint64(context, true), true);
    const expected = bytes.slice();
    const r = run(SegmentImage.region(bytes, enc.base));
    expect(r.pass).toBe('walk-then-write');
    expect(r.summary).toEqual(reference(expected));
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
  });

  it('decided with a decide callback, statusByAddress, or a status the operation may refuse', () => {
    expect(run(SegmentImage.region(enc.bytes.slice(), enc.base), { decide: () => undefined }).pass).toBe('decided');
    expect(run(SegmentImage.region(enc.bytes.slice(), enc.base), { statusByAddress: new Map([[enc.root, 'NDIS_STATUS_SUCCESS']]) }).pass).toBe('decided');
    const w = new StatusWriter();
    expect(() => w.complete(SegmentImage.region(enc.bytes.slice(), enc.base), enc.root, { operation: 'initiate', status: 'NDIS_STATUS_PENDING' })).toThrow();
    expect(w.lastPass).toBe('decided');
  });

  it('undefined when nothing was walked', () => {
    const w = new StatusWriter();
    expect(() => w.complete(SegmentImage.region(enc.bytes.slice(), enc.base), enc.base + 0x100000n, { operation: 'initiate' })).toThrow();
    expect(w.lastPass).toBeUndefined();
  });
});
