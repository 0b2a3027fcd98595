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
import { NoSuchBlockError } from '../../src/tree/status-writer.js';
import { TreeWalker } from '../../src/tree/walk.js';
import { ReferenceStatusWriter } from '../support/status-writer-reference.js';

/** The addresses of the blocks of the tree at `root`, or undefined when the walk fails. */
function blockStarts(image: SegmentImage, root: bigint, abi: Abi, maxBlocks: number | undefined): Set<bigint> | undefined {
  const w = new TreeWalker({ abi, revisits: 'exact', ...(maxBlocks !== undefined ? { maxBlocks } : {}) });
  const starts = new Set<bigint>();
  try {
    w.reset(image, root);
    while (w.next()) starts.add(w.address());
    return starts;
  } catch {
    return undefined;
  }
}

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
  // Rewritten pointers may land inside a block: blocks that overlap, a Status over a later block's pointers.
  shift: fc.constantFrom(0, 0, 0, 8, 16, 24, 40),
  // A limit anywhere, or just at (or one below) the number of blocks there are.
  maxBlocks: fc.oneof(fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }), fc.constantFrom(0, -1)),
  // The image cut short at its end by this many bytes (the last blocks or their cells beyond it).
  trim: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
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
          const target = t < 0 ? base + 0x100000n : base + BigInt(starts[t % starts.length]! + c.shift);
          if (c.abi.pointerSize === 8) dv.setBigUint64(o + at(member), target, true);
          else dv.setUint32(o + at(member), Number(target), true);
        }
        const maxBlocks = c.maxBlocks === undefined || c.maxBlocks > 0 ? c.maxBlocks : starts.length + c.maxBlocks;
        const options: CompleteOptions = { operation: c.operation, abi: c.abi, status: c.status, maxBlocks };
        if (c.decisions === 1) options.statusByAddress = new Map(c.picks.map(([b, s]) => [base + BigInt(starts[b % starts.length]!), s]));
        if (c.decisions === 2) {
          const picks = new Map(c.picks.map(([b, s]) => [base + BigInt(starts[b % starts.length]!), s]));
          options.decide = (address) => picks.get(address);
        }
        const kept = c.trim !== undefined && c.trim < bytes.length ? bytes.length - c.trim : bytes.length;
        const a = bytes.slice(0, kept);
        const b = bytes.slice(0, kept);
        const bounds = [...new Set([...c.cuts.map((k) => starts[k % starts.length]!), ...(c.oddCut !== undefined ? [c.oddCut % bytes.length] : [])])]
          .filter((o) => o > 0 && o < kept)
          .sort((x, y) => x - y);
        const segments = (buf: Uint8Array): SegmentImage => {
          const edges = [0, ...bounds, buf.length];
          return new SegmentImage(edges.slice(1).map((end, k) => ({ base: base + BigInt(edges[k]!), bytes: buf.subarray(edges[k]!, end) })));
        };
        const walked = options.statusByAddress ? blockStarts(segments(bytes.slice(0, kept)), base, c.abi, maxBlocks) : undefined;
        const got = outcome(() => writer.complete(segments(a), base, options));
        // An address that is no block of the tree (a pick that a rewritten pointer cut off) is
        // refused with nothing written, where the writer this one replaced ignored it.
        const missing = walked ? [...options.statusByAddress!.keys()].filter((k) => !walked.has(k)) : [];
        if ('error' in got && got.error.startsWith('NoSuchBlockError')) {
          expect(missing.length).toBeGreaterThan(0);
          expect(got.error).toBe(`NoSuchBlockError: ${new NoSuchBlockError(missing).message}`);
          expect(Buffer.from(a).equals(Buffer.from(bytes.subarray(0, kept)))).toBe(true);
          return;
        }
        if ('ok' in got) expect(missing).toEqual([]);
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

describe('the region walk (immediate, one segment) at its edges: the same outcome as the reference writer', () => {
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
  const at = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
  const tcp = (role: Role): BlockInput => ({ role, type: 'TcpOffloadState' });
  const path = (role: Role, dependents: BlockInput[]): BlockInput => ({ role, type: 'Ip4OffloadState', ...(role === 'linker' ? { '*MiniportOffloadContext': '0x1000' } : {}), dependents });
  const neighbor = (role: Role, dependents: BlockInput[]): BlockInput => ({ role, type: 'NeighborOffloadState', ...(role === 'linker' ? { '*MiniportOffloadContext': '0x1000' } : {}), dependents });
  // Trees whose last block (in walk order, which is address order here) is at layer 0, 1 and 2.
  const trees: Record<string, BlockInput[]> = {
    'last at layer 0': [neighbor('linker', [path('new-offload', [tcp('new-offload')])]), neighbor('placeholder', [])],
    'last at layer 1': [neighbor('linker', [path('linker', [tcp('new-offload')]), path('new-offload', [])])],
    'last at layer 2': [neighbor('linker', [path('linker', [tcp('new-offload'), tcp('linker')])])],
  };
  /** Block offsets in walk order. */
  const offsetsOf = (bytes: Uint8Array, base: bigint): number[] => {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: number[] = [];
    const stack = [0];
    while (stack.length) {
      const o = stack.pop()!;
      out.push(o);
      for (const m of ['NextBlock', 'DependentBlockList']) {
        const p = dv.getBigUint64(o + at(m), true);
        if (p !== 0n) stack.push(Number(p - base));
      }
    }
    return out;
  };
  const compare = (bytes: Uint8Array, base: bigint, options: Partial<CompleteOptions> = {}): { pass: string | undefined; outcome: ReturnType<typeof outcome> } => {
    const mine = bytes.slice();
    const theirs = bytes.slice();
    const writer = new StatusWriter();
    const full: CompleteOptions = { operation: 'initiate', status: 'NDIS_STATUS_FAILURE', ...options };
    const got = outcome(() => writer.complete(SegmentImage.region(mine, base), base, full));
    expect(got).toEqual(outcome(() => new ReferenceStatusWriter().complete(SegmentImage.region(theirs, base), base, full)));
    expect(Buffer.from(mine).equals(Buffer.from(theirs))).toBe(true);
    return { pass: writer.lastPass, outcome: got };
  };

  for (const [name, blocks] of Object.entries(trees)) {
    it(`${name}: maxBlocks at the number of blocks completes at once; one below it throws and writes nothing`, () => {
      const enc = encodeTree({ blocks });
      const count = offsetsOf(enc.bytes, enc.base).length;
      const exact = compare(enc.bytes, enc.base, { maxBlocks: count });
      expect(exact.pass).toBe('immediate');
      expect('ok' in exact.outcome && JSON.parse(exact.outcome.ok).blocks).toBe(count);
      const below = compare(enc.bytes, enc.base, { maxBlocks: count - 1 });
      expect(below.outcome).toEqual({ error: expect.stringContaining(`more than ${count - 1} blocks`) });
    });

    it(`${name}: the last block one byte short of the region throws AddressError and writes nothing; whole, it completes`, () => {
      const enc = encodeTree({ blocks });
      const last = Math.max(...offsetsOf(enc.bytes, enc.base));
      expect(compare(enc.bytes.subarray(0, last + block.size), enc.base).pass).toBe('immediate');
      expect(compare(enc.bytes.subarray(0, last + block.size - 1), enc.base).outcome).toEqual({ error: expect.stringMatching(/^AddressError/) });
    });
  }

  it('blocks laid end to end (placeholders without state) are in address order: completed at once', () => {
    const p = (dependents: BlockInput[] = []): BlockInput => ({ role: 'placeholder', dependents });
    const enc = encodeTree({ blocks: [p([p([p(), p()]), p()]), p()] });
    const offsets = offsetsOf(enc.bytes, enc.base);
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5].map((k) => k * block.size));
    expect(compare(enc.bytes, enc.base).pass).toBe('immediate');
  });

  for (const layer of [0, 1, 2]) {
    it(`a block at layer ${layer} that starts inside the one before it, its NextBlock under that one's Status, is read before anything is written`, () => {
      const enc = encodeTree({ blocks: [neighbor('linker', [path('linker', [tcp('new-offload'), tcp('new-offload')])]), neighbor('new-offload', [])] });
      const bytes = enc.bytes.slice();
      const dv = new DataView(bytes.buffer);
      const offsets = offsetsOf(bytes, enc.base); // neighbor, path, tcp, tcp, neighbor
      const first = offsets[[0, 1, 2][layer]!]!;
      // The next block at this layer begins where the NextBlock it would have lies on the first one's Status.
      const shift = at('Status') - at('NextBlock');
      dv.setBigUint64(first + at('NextBlock'), enc.base + BigInt(first + shift), true);
      const r = compare(bytes, enc.base);
      expect(r.pass).toBe('walk-then-write');
    });
  }

  it('an empty tree (a NULL root) completes at once, with nothing written', () => {
    const bytes = encodeTree({ blocks: [neighbor('placeholder', [])] }).bytes;
    const copy = bytes.slice();
    const writer = new StatusWriter();
    expect(writer.complete(SegmentImage.region(copy, 0x1000n), 0n, { operation: 'initiate' }).blocks).toBe(0);
    expect(writer.lastPass).toBe('immediate');
    expect(Buffer.from(copy).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('the region walk never lets a write reach a later read', () => {
  it('a path block that starts inside the one before it, whose NextBlock would be changed by that one\'s Status', () => {
    // N1 > X (a new path) > nothing; N2 unreachable (N1.NextBlock NULL). X.NextBlock points 16 bytes
    // into X itself: the "block" Y there has its NextBlock on X's Status, and its high half, X's
    // padding, is set to the base's. Read before X's Status is written (the reference), Y.NextBlock
    // points below the image: AddressError. Read after FAILURE (0xc0000001) is written, it would
    // point at N2: the base is chosen so that it does.
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    const at = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
    const blocks: BlockInput[] = [
      { role: 'linker', type: 'NeighborOffloadState', '*MiniportOffloadContext': '0x1000', dependents: [{ role: 'new-offload', type: 'Ip4OffloadState' }] },
      { role: 'placeholder' },
    ];
    const n2 = Number(encodeTree({ blocks }).bytes.length - block.size); // N2: a placeholder, the last block
    const base = 0xffffc70a00000000n + BigInt(0xc0000001 - n2);
    const enc = encodeTree({ blocks }, { base });
    const bytes = enc.bytes;
    const dv = new DataView(bytes.buffer);
    const x = Number(dv.getBigUint64(at('DependentBlockList'), true) - base);
    const y = x + at('Status') - at('NextBlock');
    dv.setBigUint64(at('NextBlock'), 0n, true);
    dv.setBigUint64(x + at('NextBlock'), base + BigInt(y), true);
    dv.setUint32(x + at('Status') + 4, Number(base >> 32n), true);
    expect(y + at('NextBlock')).toBe(x + at('Status'));
    const mine = bytes.slice();
    const theirs = bytes.slice();
    const options: CompleteOptions = { operation: 'initiate', status: 'NDIS_STATUS_FAILURE' };
    const writer = new StatusWriter();
    const got = outcome(() => writer.complete(SegmentImage.region(mine, base), base, options));
    expect(got).toEqual({ error: expect.stringMatching(/^AddressError/) });
    expect(got).toEqual(outcome(() => new ReferenceStatusWriter().complete(SegmentImage.region(theirs, base), base, options)));
    expect(Buffer.from(mine).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('the region walk against pointers that only nearly fit', () => {
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
  const at = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
  const options: CompleteOptions = { operation: 'initiate', status: 'NDIS_STATUS_FAILURE' };
  /** Runs the writer and the reference on copies; both outcomes, the pass, and whether the bytes agree. */
  const both = (bytes: Uint8Array, base: bigint, root = base) => {
    const mine = bytes.slice();
    const theirs = bytes.slice();
    const writer = new StatusWriter();
    const got = outcome(() => writer.complete(SegmentImage.region(mine, base), root, options));
    const want = outcome(() => new ReferenceStatusWriter().complete(SegmentImage.region(theirs, base), root, options));
    return { got, want, pass: writer.lastPass, same: Buffer.from(mine).equals(Buffer.from(theirs)), untouched: Buffer.from(mine).equals(Buffer.from(bytes)) };
  };
  // A linker neighbor over a linker path over a new TCP block and a placeholder: PARTIAL for the path.
  const tree: BlockInput[] = [
    {
      role: 'linker',
      type: 'NeighborOffloadState',
      '*MiniportOffloadContext': '0x1000',
      dependents: [{ role: 'linker', type: 'Ip4OffloadState', '*MiniportOffloadContext': '0x1000', dependents: [{ role: 'new-offload', type: 'TcpOffloadState' }, { role: 'placeholder' }] }],
    },
  ];

  it('a root 4 GiB above the region, its low half that of the region: outside, AddressError', () => {
    const enc = encodeTree({ blocks: tree });
    const r = both(enc.bytes, enc.base, enc.base + 2n ** 32n);
    expect(r.got).toEqual({ error: expect.stringMatching(/^AddressError/) });
    expect([r.got, r.same, r.untouched]).toEqual([r.want, true, true]);
  });

  it('a root whose block ends exactly at the end of the region completes at once', () => {
    const enc = encodeTree({ blocks: [{ role: 'placeholder' }] });
    expect(enc.bytes.length).toBe(block.size);
    const r = both(enc.bytes, enc.base);
    expect([r.pass, r.same]).toEqual(['immediate', true]);
    expect(r.got).toEqual(r.want);
  });

  for (const [name, member] of [['NextBlock', 'NextBlock'], ['DependentBlockList', 'DependentBlockList']] as const) {
    it(`a ${name} 4 GiB off a real block (same low half), or past the end of the region: AddressError, nothing written`, () => {
      const enc = encodeTree({ blocks: tree });
      const dv = new DataView(enc.bytes.buffer);
      const path = Number(dv.getBigUint64(at('DependentBlockList'), true) - enc.base);
      const tcp = Number(dv.getBigUint64(path + at('DependentBlockList'), true) - enc.base);
      const from = member === 'NextBlock' ? tcp : path;
      for (const target of [enc.base + BigInt(tcp) + 2n ** 32n, enc.base + BigInt(enc.bytes.length), enc.base + BigInt(enc.bytes.length + 4096)]) {
        const bytes = enc.bytes.slice();
        new DataView(bytes.buffer).setBigUint64(from + at(member), target, true);
        const r = both(bytes, enc.base);
        expect(r.got, target.toString(16)).toEqual({ error: expect.stringMatching(/^AddressError/) });
        expect([r.got, r.untouched]).toEqual([r.want, true]);
      }
    });
  }

  it('a context pointer 4 GiB off its cell is outside the image: a new offload, not a linker', () => {
    const enc = encodeTree({ blocks: tree });
    const bytes = enc.bytes.slice();
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(at('MiniportOffloadContext'), dv.getBigUint64(at('MiniportOffloadContext'), true) + 2n ** 32n, true);
    const r = both(bytes, enc.base);
    expect([r.pass, r.same]).toEqual(['immediate', true]);
    expect(r.got).toEqual(r.want);
    expect(JSON.parse((r.got as { ok: string }).ok).byRole).toEqual({ placeholder: 1, linker: 1, 'new-offload': 2 });
  });

  it('a context cell in the last bytes of the region, too short for a pointer: a new offload; whole, a linker', () => {
    const enc = encodeTree({ blocks: tree });
    for (const [cellAt, linker] of [[enc.bytes.length - 4, 0], [enc.bytes.length - 8, 1]] as const) {
      const bytes = enc.bytes.slice();
      const dv = new DataView(bytes.buffer);
      dv.setUint32(enc.bytes.length - 4, 0x1000, true); // a non-NULL value in the last four bytes
      dv.setBigUint64(at('MiniportOffloadContext'), enc.base + BigInt(cellAt), true);
      const r = both(bytes, enc.base);
      expect([r.pass, r.same], String(cellAt)).toEqual(['immediate', true]);
      expect(r.got).toEqual(r.want);
      expect(JSON.parse((r.got as { ok: string }).ok).byRole.linker).toBe(1 + linker);
    }
  });

  it('more blocks than the writer\'s first buffers hold, at every layer; a dangling last pointer undoes them all', () => {
    // 1 neighbor > 1,500 paths, the last one > 1,500 TCP blocks: the undo log grows inside each loop.
    const tcps = Array.from({ length: 1500 }, (): BlockInput => ({ role: 'new-offload', type: 'TcpOffloadState' }));
    const paths = Array.from({ length: 1500 }, (_, k): BlockInput => ({ role: k === 1499 ? 'linker' : 'placeholder', type: 'Ip4OffloadState', ...(k === 1499 ? { '*MiniportOffloadContext': '0x1000', dependents: tcps } : {}) }));
    const neighbors = Array.from({ length: 1500 }, (_, k): BlockInput => (k === 0 ? { role: 'linker', type: 'NeighborOffloadState', '*MiniportOffloadContext': '0x1000', dependents: paths } : { role: 'placeholder' }));
    const enc = encodeTree({ blocks: neighbors });
    const whole = both(enc.bytes, enc.base);
    expect([whole.pass, whole.same]).toEqual(['immediate', true]);
    expect(whole.got).toEqual(whole.want);
    expect(JSON.parse((whole.got as { ok: string }).ok).blocks).toBe(4500);
    // The last block (the last neighbor) points past the end: everything written before is undone.
    const bytes = enc.bytes.slice();
    const dv = new DataView(bytes.buffer);
    const last = bytes.length - block.size;
    dv.setBigUint64(last + at('NextBlock'), enc.base + BigInt(bytes.length + 4096), true);
    const broken = both(bytes, enc.base);
    expect(broken.got).toEqual({ error: expect.stringMatching(/^AddressError/) });
    expect([broken.got, broken.untouched]).toEqual([broken.want, true]);
  });
});
