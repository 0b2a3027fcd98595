/**
 * StatusWriter pinned where mutation testing left it unasserted: which pass runs (lastPass) for
 * blocks across several segments and for context cells in other segments (before, after, at the
 * block itself, outside the image), the role read from such a cell on x64 and x86 (high halves,
 * the bytes around the cell), linkers decided by their dependents in the immediate pass, the
 * summary's byStatus key order when statuses repeat, a NULL root, non-initiate linkers, the undo
 * of immediate writes when a later block fails, and a writable image that is not a SegmentImage.
 * Every image is built by hand; every expected status is worked out from tree-rules.md.
 */
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  CompletionError,
  Location,
  SegmentImage,
  StatusWriter,
  X64,
  X86,
  blockOffsets,
  joinHalves,
  type Abi,
  type CompleteOptions,
  type CompletionSummary,
  type MappedRange,
  type MemoryImage,
} from '../../src/index.js';

const SUCCESS = 0;
const FAILURE = 0xc0000001 | 0;
const RESOURCES = 0xc000009a | 0;
const PARTIAL = 0x40020004;
const TCP_ENTRIES = 0xc0231004 | 0;
const JUNK = 0x7eadbeef; // what every Status holds before completion
const OUTSIDE = 0xdead0000n; // a context cell in no image here: the block is a new offload

interface Block {
  at: number;
  next?: bigint;
  dep?: bigint;
  ctx?: bigint;
  status?: number;
}

/** `length` bytes holding the given blocks (Status JUNK unless given) and 8-byte cells. */
function bytesWith(length: number, blocks: Block[], cells: [number, bigint][] = [], abi: Abi = X64): Uint8Array {
  const bytes = new Uint8Array(length);
  const dv = new DataView(bytes.buffer);
  const o = blockOffsets(abi);
  const ptr = (at: number, v: bigint): void => {
    if (abi.pointerSize === 8) dv.setBigUint64(at, v, true);
    else dv.setUint32(at, Number(v), true);
  };
  for (const b of blocks) {
    dv.setUint32(b.at + o.header, 0x0098_0101, true);
    ptr(b.at + o.next, b.next ?? 0n);
    ptr(b.at + o.dependent, b.dep ?? 0n);
    ptr(b.at + o.context, b.ctx ?? 0n);
    dv.setInt32(b.at + o.status, b.status ?? JUNK, true);
  }
  for (const [at, v] of cells) dv.setBigUint64(at, v, true);
  return bytes;
}

const statusAt = (bytes: Uint8Array, at: number, abi: Abi = X64): number => new DataView(bytes.buffer, bytes.byteOffset).getInt32(at + blockOffsets(abi).status, true);

/** The bytes after completion: `before` with the given Status words written. */
function withStatuses(before: Uint8Array, statuses: [number, number][], abi: Abi = X64): Uint8Array {
  const out = before.slice();
  for (const [at, s] of statuses) new DataView(out.buffer).setInt32(at + blockOffsets(abi).status, s, true);
  return out;
}

function complete(image: MemoryImage, root: bigint, options: CompleteOptions): { summary: CompletionSummary; pass: StatusWriter['lastPass'] } {
  const writer = new StatusWriter();
  const summary = writer.complete(image, root, options);
  return { summary, pass: writer.lastPass };
}

function refusal(image: MemoryImage, root: bigint, options: CompleteOptions): { error: Error; pass: StatusWriter['lastPass'] } {
  const writer = new StatusWriter();
  try {
    writer.complete(image, root, options);
  } catch (e) {
    return { error: e as Error, pass: writer.lastPass };
  }
  throw new Error('completed');
}

const hexBytes = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('linkers decided by their dependents (initiate), on every pass', () => {
  // N1 linker { P1 linker { T1 new }, P2 placeholder }, N2 linker { P3 linker { T2 new, T3 placeholder } },
  // with FAILURE for the new offloads: T1 F, so P1 F (none of 1); N1 has 1 of 2 (P2) → PARTIAL;
  // T2 F, T3 S: P3 PARTIAL, which counts as offloaded, so N2 SUCCESS.
  const at = { N1: 0x000, P1: 0x098, T1: 0x130, P2: 0x1c8, N2: 0x260, P3: 0x2f8, T2: 0x390, T3: 0x428 };
  const want: [number, number][] = [
    [at.N1, PARTIAL],
    [at.P1, FAILURE],
    [at.T1, FAILURE],
    [at.P2, SUCCESS],
    [at.N2, SUCCESS],
    [at.P3, PARTIAL],
    [at.T2, FAILURE],
    [at.T3, SUCCESS],
  ];
  const summary = {
    blocks: 8,
    byRole: { placeholder: 2, linker: 4, 'new-offload': 2 },
    byStatus: { NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS: 2, NDIS_STATUS_FAILURE: 3, NDIS_STATUS_SUCCESS: 3 },
  };
  const base = 0x100000n;
  /** The tree, shifted by `shift`, with its linker cell and empty cell at `cells`. */
  const tree = (shift: number, cells: number): Uint8Array => {
    const a = (o: number): bigint => base + BigInt(o + shift);
    const linker = base + BigInt(cells);
    const empty = linker + 8n;
    return bytesWith(
      0x4d0,
      [
        { at: at.N1 + shift, next: a(at.N2), dep: a(at.P1), ctx: linker },
        { at: at.P1 + shift, next: a(at.P2), dep: a(at.T1), ctx: linker },
        { at: at.T1 + shift, ctx: empty },
        { at: at.P2 + shift },
        { at: at.N2 + shift, dep: a(at.P3), ctx: linker },
        { at: at.P3 + shift, dep: a(at.T2), ctx: linker },
        { at: at.T2 + shift, next: a(at.T3), ctx: empty },
        { at: at.T3 + shift },
      ],
      [[cells, 0x1234_5678_9abc_def0n]],
    );
  };

  const cases: [string, number, number, (b: Uint8Array) => SegmentImage, Partial<CompleteOptions>, string][] = [
    ['a region in address order', 0, 0x4c0, (b) => SegmentImage.region(b, base), {}, 'immediate'],
    [
      'three segments in address order',
      0,
      0x4c0,
      (b) =>
        new SegmentImage([
          { base, bytes: b.subarray(0, 0x130) },
          { base: base + 0x130n, bytes: b.subarray(0x130, 0x2f8) },
          { base: base + 0x2f8n, bytes: b.subarray(0x2f8) },
        ]),
      {},
      'immediate',
    ],
    ['a region whose cells come first', 0x10, 0, (b) => SegmentImage.region(b, base), {}, 'walk-then-write'],
    ['a decide callback', 0, 0x4c0, (b) => SegmentImage.region(b, base), { decide: () => undefined }, 'decided'],
    ['statusByAddress', 0, 0x4c0, (b) => SegmentImage.region(b, base), { statusByAddress: new Map([[base + BigInt(at.T1), 'NDIS_STATUS_FAILURE']]) }, 'decided'],
  ];
  it('one writer reused: a region after three segments, and back, each as a fresh writer does it', () => {
    const writer = new StatusWriter();
    for (const k of [1, 0, 1, 0]) {
      const [, shift, cells, image, , pass] = cases[k]!;
      const bytes = tree(shift, cells);
      const before = bytes.slice();
      const s = writer.complete(image(bytes), base, { operation: 'initiate', status: 'NDIS_STATUS_FAILURE' });
      expect(writer.lastPass).toBe(pass);
      expect(s).toEqual(summary);
      expect(Object.keys(s.byStatus)).toEqual(Object.keys(summary.byStatus));
      expect(hexBytes(bytes)).toBe(hexBytes(withStatuses(before, want)));
    }
  });

  for (const [name, shift, cells, image, options, pass] of cases) {
    it(`${name}: ${pass}`, () => {
      const bytes = tree(shift, cells);
      const before = bytes.slice();
      const r = complete(image(bytes), base + BigInt(shift), { operation: 'initiate', status: 'NDIS_STATUS_FAILURE', ...options });
      expect(r.pass).toBe(pass);
      expect(r.summary).toEqual(summary);
      expect(Object.keys(r.summary.byStatus)).toEqual(Object.keys(summary.byStatus));
      expect(hexBytes(bytes)).toBe(hexBytes(withStatuses(before, want.map(([o, s]) => [o + shift, s]))));
    });
  }
});

describe('byStatus lists statuses in the order the blocks first show them, on every pass', () => {
  // N0 new (R), N1 placeholder (S), N2 new (R), N3 linker { Pa new (R), Pb placeholder (S) } (PARTIAL).
  const base = 0x200000n;
  const tree = (n3Context: bigint): Uint8Array =>
    bytesWith(
      0x398,
      [
        { at: 0, next: base + 0x98n, ctx: OUTSIDE },
        { at: 0x98, next: base + 0x130n },
        { at: 0x130, next: base + 0x1c8n, ctx: OUTSIDE },
        { at: 0x1c8, dep: base + 0x260n, ctx: n3Context },
        { at: 0x260, next: base + 0x2f8n, ctx: OUTSIDE },
        { at: 0x2f8 },
      ],
      [[0x390, 0xffff_ffff_ffff_ffffn]],
    );
  const want: [number, number][] = [
    [0, RESOURCES],
    [0x98, SUCCESS],
    [0x130, RESOURCES],
    [0x1c8, PARTIAL],
    [0x260, RESOURCES],
    [0x2f8, SUCCESS],
  ];
  for (const [name, n3Context, options, pass] of [
    ['immediate', base + 0x390n, {}, 'immediate'],
    // N3's context cell is N0's Header (not NULL: a linker), before N3.
    ['walk-then-write', base, {}, 'walk-then-write'],
    ['decided', base + 0x390n, { decide: () => undefined }, 'decided'],
  ] as const) {
    it(name, () => {
      const bytes = tree(n3Context);
      const before = bytes.slice();
      const r = complete(SegmentImage.region(bytes, base), base, { operation: 'initiate', status: 'NDIS_STATUS_RESOURCES', ...options });
      expect(r.pass).toBe(pass);
      expect(r.summary).toEqual({
        blocks: 6,
        byRole: { placeholder: 2, linker: 1, 'new-offload': 3 },
        byStatus: { NDIS_STATUS_RESOURCES: 3, NDIS_STATUS_SUCCESS: 2, NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS: 1 },
      });
      expect(Object.keys(r.summary.byStatus)).toEqual(['NDIS_STATUS_RESOURCES', 'NDIS_STATUS_SUCCESS', 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS']);
      expect(hexBytes(bytes)).toBe(hexBytes(withStatuses(before, want)));
    });
  }
});

describe('outside initiate, linker-shaped blocks get the caller\'s decision', () => {
  it('query with FAILURE: the linker fails though its dependent is a placeholder', () => {
    const base = 0x300000n;
    for (const options of [{}, { decide: () => undefined }]) {
      const bytes = bytesWith(
        0x1d0,
        [
          { at: 0, next: base + 0x130n, dep: base + 0x98n, ctx: base + 0x1c8n },
          { at: 0x98 },
          { at: 0x130, ctx: OUTSIDE },
        ],
        [[0x1c8, 1n]],
      );
      const before = bytes.slice();
      const r = complete(SegmentImage.region(bytes, base), base, { operation: 'query', status: 'NDIS_STATUS_FAILURE', ...options });
      expect(r.pass).toBe('decide' in options ? 'decided' : 'immediate');
      expect(r.summary).toEqual({ blocks: 3, byRole: { placeholder: 1, linker: 1, 'new-offload': 1 }, byStatus: { NDIS_STATUS_FAILURE: 2, NDIS_STATUS_SUCCESS: 1 } });
      expect(Object.keys(r.summary.byStatus)).toEqual(['NDIS_STATUS_FAILURE', 'NDIS_STATUS_SUCCESS']);
      expect(hexBytes(bytes)).toBe(hexBytes(withStatuses(before, [[0, FAILURE], [0x98, SUCCESS], [0x130, FAILURE]])));
    }
  });
});

describe('a NULL root', () => {
  it('completes nothing, in the immediate pass (or decided), and writes nothing', () => {
    const bytes = bytesWith(0x98, [{ at: 0 }]);
    const before = bytes.slice();
    const empty = { blocks: 0, byRole: { placeholder: 0, linker: 0, 'new-offload': 0 }, byStatus: {} };
    expect(complete(SegmentImage.region(bytes, 0x1000n), 0n, { operation: 'initiate' })).toEqual({ summary: empty, pass: 'immediate' });
    expect(complete(SegmentImage.region(bytes, 0x1000n), 0n, { operation: 'initiate', decide: () => 'NDIS_STATUS_FAILURE' })).toEqual({ summary: empty, pass: 'decided' });
    expect(hexBytes(bytes)).toBe(hexBytes(before));
  });
});

describe('blocks across segments, and a late error undoing the immediate writes', () => {
  // Segment 0: N0 { P0 { T } }, segment 1: T, N1; segment 2: N2. Pre-order is address order.
  const junk = [0x11223344, 0x55667788, 0x99aabbcc | 0, 0x0d0e0f10, 0x21324354];
  const build = (lastNext: bigint): { image: SegmentImage; parts: Uint8Array[] } => {
    const parts = [
      bytesWith(0x130, [
        { at: 0, dep: 0x10098n, next: 0x20098n, status: junk[0] },
        { at: 0x98, dep: 0x20000n, status: junk[1] },
      ]),
      bytesWith(0x130, [
        { at: 0, ctx: OUTSIDE, status: junk[2] },
        { at: 0x98, ctx: OUTSIDE, next: 0x30000n, status: junk[3] },
      ]),
      bytesWith(0x98, [{ at: 0, next: lastNext, status: junk[4] }]),
    ];
    const image = new SegmentImage([
      { base: 0x30000n, bytes: parts[2]! }, // any order: the image sorts them
      { base: 0x10000n, bytes: parts[0]! },
      { base: 0x20000n, bytes: parts[1]! },
    ]);
    return { image, parts };
  };

  it('in address order across three segments: immediate', () => {
    const { image, parts } = build(0n);
    const r = complete(image, 0x10000n, { operation: 'initiate', status: 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES' });
    expect(r.pass).toBe('immediate');
    expect(r.summary).toEqual({ blocks: 5, byRole: { placeholder: 3, linker: 0, 'new-offload': 2 }, byStatus: { NDIS_STATUS_SUCCESS: 3, NDIS_STATUS_OFFLOAD_TCP_ENTRIES: 2 } });
    expect([statusAt(parts[0]!, 0), statusAt(parts[0]!, 0x98), statusAt(parts[1]!, 0), statusAt(parts[1]!, 0x98), statusAt(parts[2]!, 0)]).toEqual([
      SUCCESS,
      SUCCESS,
      TCP_ENTRIES,
      TCP_ENTRIES,
      SUCCESS,
    ]);
  });

  it('a dangling pointer, a cycle or the block limit after the last block: every Status as it was', () => {
    for (const [lastNext, options, error, message] of [
      [OUTSIDE, {}, AddressError, 'the tree (block 5): 0xdead0000 (+152 bytes) is outside the captured memory'],
      [0x10000n, {}, CompletionError, 'block at 0x10000: reached twice (a cycle or a shared block)'],
      [0x20000n, {}, CompletionError, 'block at 0x20000: reached twice (a cycle or a shared block)'],
      [0n, { maxBlocks: 4 }, CompletionError, 'block at 0x30000: more than 4 blocks'],
    ] as const) {
      const { image, parts } = build(lastNext);
      const before = parts.map(hexBytes);
      const r = refusal(image, 0x10000n, { operation: 'initiate', ...options });
      expect(r.error).toBeInstanceOf(error);
      expect((r.error as AddressError | CompletionError).code).toBe(error === AddressError ? 'ADDRESS' : 'COMPLETION');
      expect(r.error.message).toBe(message);
      expect(r.pass).toBeUndefined();
      expect(parts.map(hexBytes)).toEqual(before);
    }
  });

  it('the same on one region', () => {
    const base = 0x10000n;
    const bytes = bytesWith(0x2f8, [
      { at: 0, dep: base + 0x98n, next: base + 0x1c8n, status: junk[0] },
      { at: 0x98, dep: base + 0x130n, status: junk[1] },
      { at: 0x130, ctx: OUTSIDE, status: junk[2] },
      { at: 0x1c8, ctx: OUTSIDE, next: base + 0x260n, status: junk[3] },
      { at: 0x260, next: OUTSIDE, status: junk[4] },
    ]);
    const before = hexBytes(bytes);
    const r = refusal(SegmentImage.region(bytes, base), base, { operation: 'initiate' });
    expect(r.error).toBeInstanceOf(AddressError);
    expect(r.error.message).toBe('the tree (block 5): 0xdead0000 (+152 bytes) is outside the captured memory');
    expect(hexBytes(bytes)).toBe(before);
  });
});

describe('the role from a context cell in another segment (x64)', () => {
  // Segment 0 at 0x10000: N0 (a placeholder) and the cells; segment 1 at 0x20000: the blocks that use them.
  const cells: [number, bigint][] = [
    [0x100, 0xaaaa_aaaa_bbbb_bbbbn], // a linker's cell
    [0x108, 0n], // empty, after non-zero bytes
    [0x110, 0x1_0000_0000n], // low half 0, high half 1: not empty
  ];
  const build = (users: Block[]): { image: SegmentImage; parts: Uint8Array[] } => {
    const parts = [bytesWith(0x200, [{ at: 0, next: 0x20000n }], cells), bytesWith(0x260, users)];
    return {
      image: new SegmentImage([
        { base: 0x10000n, bytes: parts[0]! },
        { base: 0x20000n, bytes: parts[1]! },
      ]),
      parts,
    };
  };
  const users: Block[] = [
    { at: 0, ctx: 0x10108n, next: 0x20098n }, // empty: new-offload
    { at: 0x98, ctx: 0x10100n, next: 0x20130n }, // linker
    { at: 0x130, ctx: 0x10110n, next: 0x201c8n }, // linker (high half only)
    { at: 0x1c8, ctx: 0x10000n }, // N0's Header, at the very start of segment 0: linker
  ];

  for (const [name, options, pass] of [
    ['cells before their blocks: walk-then-write', {}, 'walk-then-write'],
    ['decided', { decide: () => undefined }, 'decided'],
  ] as const) {
    it(name, () => {
      const { image, parts } = build(users);
      const r = complete(image, 0x10000n, { operation: 'query', status: 'NDIS_STATUS_FAILURE', ...options });
      expect(r.pass).toBe(pass);
      expect(r.summary).toEqual({ blocks: 5, byRole: { placeholder: 1, linker: 3, 'new-offload': 1 }, byStatus: { NDIS_STATUS_SUCCESS: 1, NDIS_STATUS_FAILURE: 4 } });
      expect([statusAt(parts[0]!, 0), ...users.map((u) => statusAt(parts[1]!, u.at))]).toEqual([SUCCESS, FAILURE, FAILURE, FAILURE, FAILURE]);
    });
  }

  it('one cell before its block, at a higher offset in its own segment than the block in its: walk-then-write', () => {
    const { image } = build([{ at: 0, ctx: 0x10108n }]);
    const r = complete(image, 0x10000n, { operation: 'initiate', status: 'NDIS_STATUS_RESOURCES' });
    expect(r.pass).toBe('walk-then-write');
    expect(r.summary).toEqual({ blocks: 2, byRole: { placeholder: 1, linker: 0, 'new-offload': 1 }, byStatus: { NDIS_STATUS_SUCCESS: 1, NDIS_STATUS_RESOURCES: 1 } });
  });

  it('cells in a later segment: immediate, whatever their offset there', () => {
    // Segment 0: N0 (context: an empty cell) and N1 (context: a cell whose low half is 0); segment 1: the cells.
    const parts = [
      bytesWith(0x130, [
        { at: 0, ctx: 0x20008n, next: 0x10098n },
        { at: 0x98, ctx: 0x20000n },
      ]),
      bytesWith(0x18, [], [
        [0, 0x1_0000_0000n],
        [8, 0n],
        [0x10, 0xccccn],
      ]),
    ];
    const image = new SegmentImage([
      { base: 0x10000n, bytes: parts[0]! },
      { base: 0x20000n, bytes: parts[1]! },
    ]);
    const r = complete(image, 0x10000n, { operation: 'query', status: 'NDIS_STATUS_FAILURE' });
    expect(r.pass).toBe('immediate');
    expect(r.summary).toEqual({ blocks: 2, byRole: { placeholder: 0, linker: 1, 'new-offload': 1 }, byStatus: { NDIS_STATUS_FAILURE: 2 } });
    expect(hexBytes(parts[1]!)).toBe('00000000010000000000000000000000cccc000000000000');
  });
});

describe('the role from a context cell in another segment (x86)', () => {
  it('only the 4 bytes of the cell count', () => {
    const parts = [
      bytesWith(
        2 * 76,
        [
          { at: 0, ctx: 0x82000000n, next: 0x8100004cn }, // cell 0, then 0xffffffff: empty
          { at: 76, ctx: 0x82000008n }, // cell 1: a linker
        ],
        [],
        X86,
      ),
      new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for (const [options, pass] of [
      [{}, 'immediate'],
      [{ decide: () => undefined }, 'decided'],
    ] as const) {
      const image = new SegmentImage([
        { base: 0x81000000n, bytes: parts[0]!.slice() },
        { base: 0x82000000n, bytes: parts[1]! },
      ]);
      const r = complete(image, 0x81000000n, { operation: 'query', abi: X86, status: 'NDIS_STATUS_FAILURE', ...options });
      expect(r.pass).toBe(pass);
      expect(r.summary).toEqual({ blocks: 2, byRole: { placeholder: 0, linker: 1, 'new-offload': 1 }, byStatus: { NDIS_STATUS_FAILURE: 2 } });
      const bytes = image.segments[0]!.bytes;
      expect([statusAt(bytes, 0, X86), statusAt(bytes, 76, X86)]).toEqual([FAILURE, FAILURE]);
    }
  });
});

describe('a context cell in the block\'s own segment', () => {
  const base = 0x400000n;
  it('the block\'s own first bytes (its Header, not NULL): a linker, still in address order', () => {
    for (const [ctx, pass, role] of [
      [base + 0x98n, 'immediate', 'linker'], // N1's own Header
      [base + 0xd8n, 'immediate', 'new-offload'], // after N1's start, inside it: zero
      [base + 0x90n, 'walk-then-write', 'new-offload'], // before N1 (the tail of N0): zero
    ] as const) {
      const bytes = bytesWith(0x130, [{ at: 0, next: base + 0x98n }, { at: 0x98, ctx }]);
      const before = bytes.slice();
      const r = complete(SegmentImage.region(bytes, base), base, { operation: 'initiate', status: 'NDIS_STATUS_RESOURCES' });
      expect(r.pass).toBe(pass);
      expect(r.summary.byRole).toEqual({ placeholder: 1, linker: role === 'linker' ? 1 : 0, 'new-offload': role === 'linker' ? 0 : 1 });
      // A linker with no dependents: all (none) of them succeeded.
      expect(hexBytes(bytes)).toBe(hexBytes(withStatuses(before, [[0, SUCCESS], [0x98, role === 'linker' ? SUCCESS : RESOURCES]])));
    }
  });
});

describe('a context pointer whose low half is 0', () => {
  it('is not NULL: the block is not a placeholder (the cell is outside the image: a new offload)', () => {
    const base = 0xffffc70a12340000n;
    for (const options of [{}, { decide: () => undefined }]) {
      const bytes = bytesWith(0x98, [{ at: 0, ctx: 0x1_0000_0000n }]);
      const r = complete(SegmentImage.region(bytes, base), base, { operation: 'initiate', status: 'NDIS_STATUS_RESOURCES', ...options });
      expect(r.summary).toEqual({ blocks: 1, byRole: { placeholder: 0, linker: 0, 'new-offload': 1 }, byStatus: { NDIS_STATUS_RESOURCES: 1 } });
      expect(statusAt(bytes, 0)).toBe(RESOURCES);
    }
  });
});

/** A writable paged image: 4 KiB pages, each its own buffer; ranges across pages are gathered. */
class PageImage implements MemoryImage {
  readonly kind = 'paged' as const;
  readonly writable = true;
  readonly pages = new Map<bigint, Uint8Array>();
  private readonly views = new Map<bigint, DataView>();

  constructor(address: bigint, bytes: Uint8Array) {
    for (let o = 0; o < bytes.length; o += 0x1000) {
      const page = bytes.slice(o, o + 0x1000);
      this.pages.set(address + BigInt(o), page);
      this.views.set(address + BigInt(o), new DataView(page.buffer));
    }
  }

  locate(address: bigint, size: number, out: Location): boolean {
    const page = address & ~0xfffn;
    const off = Number(address & 0xfffn);
    if (off + size <= 0x1000) {
      const v = this.views.get(page);
      if (!v) return false;
      Object.assign(out, { view: v, offset: off, segment: -1, imageOffset: -1, gathered: false });
      return true;
    }
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const a = address + BigInt(i);
      const p = this.pages.get(a & ~0xfffn);
      if (!p) return false;
      buf[i] = p[Number(a & 0xfffn)]!;
    }
    Object.assign(out, { view: new DataView(buf.buffer), offset: 0, segment: -1, imageOffset: -1, gathered: true });
    return true;
  }

  locateHalves(lo: number, hi: number, size: number, out: Location): boolean {
    return this.locate(joinHalves(lo, hi), size, out);
  }

  explain(): string {
    return 'is outside the captured memory';
  }

  *ranges(): Iterable<MappedRange> {
    for (const [address, p] of this.pages) yield { address, length: p.length };
  }
}

describe('a writable image that is not a SegmentImage', () => {
  const base = 0x7000_0000n;

  it('walk-then-write (or decided), every block and cell read through the image', () => {
    // N0 linker { P0 new, P1 placeholder }, all in the first page; RESOURCES for the new offload.
    for (const [options, pass] of [
      [{}, 'walk-then-write'],
      [{ decide: () => undefined }, 'decided'],
    ] as const) {
      const bytes = bytesWith(
        0x2000,
        [
          { at: 0x100, dep: base + 0x198n, ctx: base + 0xf00n },
          { at: 0x198, next: base + 0x230n, ctx: base + 0xf08n },
          { at: 0x230 },
        ],
        [[0xf00, 0xffffc70a0f6e2a40n]],
      );
      const image = new PageImage(base, bytes);
      const r = complete(image, base + 0x100n, { operation: 'initiate', status: 'NDIS_STATUS_RESOURCES', ...options });
      expect(r.pass).toBe(pass);
      expect(r.summary).toEqual({
        blocks: 3,
        byRole: { placeholder: 1, linker: 1, 'new-offload': 1 },
        byStatus: { NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS: 1, NDIS_STATUS_RESOURCES: 1, NDIS_STATUS_SUCCESS: 1 },
      });
      const page = image.pages.get(base)!;
      expect(hexBytes(page)).toBe(hexBytes(withStatuses(bytes.subarray(0, 0x1000), [[0x100, PARTIAL], [0x198, RESOURCES], [0x230, SUCCESS]])));
      expect(hexBytes(image.pages.get(base + 0x1000n)!)).toBe(hexBytes(bytes.subarray(0x1000)));
    }
  });

  it('blocks on different pages: each Status on its own page, decide and statusByAddress by the real address', () => {
    // Three top-level blocks at the same in-page offset of three pages (their keys would collide
    // if a block were known by its offset alone), and one more on the middle page.
    const tops = [0x100, 0x1100, 0x2100];
    const bytes = bytesWith(0x3000, [
      { at: 0x100, next: base + 0x1100n, ctx: base + 0xf00n },
      { at: 0x1100, next: base + 0x2100n, ctx: base + 0x1f00n },
      { at: 0x2100, next: base + 0x1300n, ctx: base + 0x2f00n },
      { at: 0x1300, ctx: base + 0x1f08n },
    ]);
    const pagesOf = (image: PageImage): string => [0n, 0x1000n, 0x2000n].map((p) => hexBytes(image.pages.get(base + p)!)).join('');
    const expectStatuses = (image: PageImage, statuses: number[]): void =>
      expect(pagesOf(image)).toBe(hexBytes(withStatuses(bytes, [...tops, 0x1300].map((at, i) => [at, statuses[i]!]))));

    let image = new PageImage(base, bytes);
    let r = complete(image, base + 0x100n, { operation: 'invalidate' });
    expect([r.pass, r.summary.blocks]).toEqual(['walk-then-write', 4]);
    expectStatuses(image, [SUCCESS, SUCCESS, SUCCESS, SUCCESS]);

    image = new PageImage(base, bytes);
    const seen: bigint[] = [];
    r = complete(image, base + 0x100n, {
      operation: 'invalidate',
      decide: (address) => {
        seen.push(address);
        return address === base + 0x1100n ? 'NDIS_STATUS_FAILURE' : undefined;
      },
    });
    expect(r.pass).toBe('decided');
    expect(seen.sort((a, b) => (a < b ? -1 : 1))).toEqual([base + 0x100n, base + 0x1100n, base + 0x1300n, base + 0x2100n]);
    expectStatuses(image, [SUCCESS, FAILURE, SUCCESS, SUCCESS]);

    image = new PageImage(base, bytes);
    r = complete(image, base + 0x100n, { operation: 'invalidate', statusByAddress: new Map([[base + 0x2100n, 'NDIS_STATUS_FAILURE']]) });
    expect(r.summary.byStatus).toEqual({ NDIS_STATUS_SUCCESS: 3, NDIS_STATUS_FAILURE: 1 });
    expectStatuses(image, [SUCCESS, SUCCESS, FAILURE, SUCCESS]);
  });

  it('a block that straddles two pages is refused before anything is written', () => {
    for (const options of [{}, { decide: () => undefined }]) {
      const bytes = bytesWith(0x2000, [{ at: 0xfc0, dep: base + 0x1100n }, { at: 0x1100 }]);
      const image = new PageImage(base, bytes);
      const r = refusal(image, base + 0xfc0n, { operation: 'initiate', ...options });
      expect(r.error).toBeInstanceOf(CompletionError);
      expect((r.error as CompletionError).code).toBe('COMPLETION');
      expect([r.error.message, (r.error as CompletionError).address]).toEqual(['block at 0x70000fc0: the block straddles two pages or segments: its Status is written in place only in a block that lies whole in one', base + 0xfc0n]);
      expect(r.pass).toBeUndefined();
      expect(hexBytes(image.pages.get(base)!) + hexBytes(image.pages.get(base + 0x1000n)!)).toBe(hexBytes(bytes));
    }
  });
});
