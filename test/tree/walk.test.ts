import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  ExactTreeWalker,
  SegmentImage,
  TreeWalker,
  WalkError,
  X64,
  X86,
  decodeTree,
  encodeTree,
  layoutOf,
  viewsFor,
  type BlockJson,
  type EncodeInput,
  type MemoryImage,
} from '../../src/index.js';

const BASE = 0xffffc70a12340000n;
const sampleBytes = (): Uint8Array => new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const sampleDoc = JSON.parse(readFileSync('fixtures/sample-x64.json', 'utf8')) as EncodeInput;
const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
const off = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
const setPtr = (bytes: Uint8Array, at: number, v: bigint): void => new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, v, true);

interface Visit {
  address: string;
  layer: number;
  parent: number;
}

/** decodeTree's blocks in document order, with the index of the block whose dependents each is. */
function decodedOrder(image: MemoryImage, root: bigint, abi = X64): Visit[] {
  const out: Visit[] = [];
  const visit = (blocks: BlockJson[], layer: number, parent: number): void => {
    for (const b of blocks) {
      const index = out.length;
      out.push({ address: b.address, layer, parent });
      visit(b.dependents, layer + 1, index);
    }
  };
  visit(decodeTree(image, root, { abi }).blocks, 0, -1);
  return out;
}

function walkedOrder(w: TreeWalker, image: MemoryImage, root: bigint): Visit[] {
  const out: Visit[] = [];
  const digits = w.abi.pointerSize * 2;
  const lastAt = [-1, -1, -1]; // the owner of a block is the last block met a layer down
  w.reset(image, root);
  while (w.next()) {
    expect(w.index).toBe(out.length);
    out.push({ address: `0x${w.address().toString(16).padStart(digits, '0')}`, layer: w.layer, parent: w.layer > 0 ? lastAt[w.layer - 1]! : -1 });
    lastAt[w.layer] = w.index;
  }
  return out;
}

describe('TreeWalker on the bundled sample', () => {
  const image = SegmentImage.region(sampleBytes(), BASE);

  it('visits the blocks in decodeTree order, with layers and parents', () => {
    const expected = decodedOrder(image, BASE);
    expect(expected).toHaveLength(10);
    for (const revisits of ['bound', 'exact'] as const) {
      const w = new TreeWalker({ abi: X64, revisits });
      expect(w instanceof ExactTreeWalker).toBe(revisits === 'exact');
      expect(walkedOrder(w, image, BASE)).toEqual(expected);
      // Reusable: a second walk gives the same blocks.
      expect(walkedOrder(w, image, BASE)).toEqual(expected);
      expect(w.blocks).toBe(10);
    }
  });

  it('points views at the block and at the state that follows it', () => {
    const doc = decodeTree(image, BASE, { operation: 'initiate' });
    const ports: [number, number][] = [];
    const walk = (bs: BlockJson[]): void =>
      bs.forEach((b) => {
        const c = b.state?.TCP_OFFLOAD_STATE_CONST;
        if (c) ports.push([c.LocalPort as number, c.RemotePort as number]);
        walk(b.dependents);
      });
    walk(doc.blocks);

    const V = viewsFor(X64);
    const blockView = new V.NDIS_MINIPORT_OFFLOAD_BLOCK_LIST();
    const tcp = new V.TCP_OFFLOAD_STATE_CONST();
    const w = new TreeWalker();
    const seen: [number, number][] = [];
    w.reset(image, BASE);
    while (w.next()) {
      blockView.at(w.view, w.offset);
      expect(blockView.Header.Size).toBe(block.size);
      if (w.layer !== 2 || blockView.Header.Type !== 17) continue;
      // A new offload carries TCP state; a placeholder's bytes after the block are something else.
      if (blockView.MiniportOffloadContext === 0n) continue;
      const at = w.stateAt(V.TCP_OFFLOAD_STATE.size);
      expect(at).toBe(w.stateOffset);
      tcp.at(w.stateView, at);
      seen.push([tcp.LocalPort, tcp.RemotePort]);
    }
    expect(seen).toEqual(ports);
  });

  it('walks the same across segments (cache misses) and reports state not in the image', () => {
    const bytes = sampleBytes();
    const order = decodedOrder(image, BASE);
    // Cut the capture right after the second block: its state is then not in the image.
    const second = Number(BigInt(order[1]!.address) - BASE);
    const cut = second + block.size;
    const split = new SegmentImage([
      { base: BASE, bytes: bytes.subarray(0, cut) },
      { base: BASE + BigInt(cut), bytes: bytes.subarray(cut) },
    ]);
    const w = new TreeWalker();
    expect(walkedOrder(w, split, BASE)).toEqual(order);
    w.reset(split, BASE);
    w.next();
    w.next();
    expect(w.offset).toBe(second);
    // The state is in the next segment: located there, not in the block's view.
    const at = w.stateAt(24);
    expect(at).toBe(0);
    expect(w.stateView.byteLength).toBe(bytes.length - cut);
    const short = new SegmentImage([{ base: BASE, bytes: bytes.subarray(0, cut) }]);
    w.reset(short, BASE);
    w.next();
    w.next();
    expect(w.stateAt(24)).toBe(-1);
  });

  it('walks an x86 tree', () => {
    const doc = JSON.parse(JSON.stringify(sampleDoc).replaceAll('0xffffc70a0f6e2a40', '0x8f6e2a40')) as EncodeInput;
    const enc = encodeTree(doc, { abi: X86, base: 0x81230000n });
    const x86 = SegmentImage.region(enc.bytes, enc.base);
    const expected = decodedOrder(x86, enc.root, X86);
    expect(expected).toHaveLength(10);
    expect(walkedOrder(new TreeWalker({ abi: X86 }), x86, enc.root)).toEqual(expected);
  });

  it('walks nothing from a NULL root and throws AddressError for a root outside the image', () => {
    const w = new TreeWalker();
    expect(w.reset(image, 0n).next()).toBe(false);
    expect(() => w.reset(image, 0xffff800000000000n).next()).toThrow(AddressError);
  });
});

describe('hostile trees', () => {
  it('a self-loop ends: at the image capacity (bound) or at the second visit (exact)', () => {
    const bytes = sampleBytes();
    setPtr(bytes, off('NextBlock'), BASE); // the root points at itself
    const image = SegmentImage.region(bytes, BASE);
    const bound = new TreeWalker().reset(image, BASE);
    let n = 0;
    const e = (() => {
      try {
        while (bound.next()) n++;
      } catch (err) {
        return err;
      }
      return undefined;
    })() as WalkError;
    expect(e).toBeInstanceOf(WalkError);
    expect(e.reason).toBe('revisit');
    expect(n).toBe(Math.floor(bytes.length / block.size));

    const exact = new TreeWalker({ revisits: 'exact' }).reset(image, BASE);
    let m = 0;
    expect(() => {
      while (exact.next()) m++;
    }).toThrow(WalkError);
    // The root and the 6 blocks of its subtree, then the root again.
    expect(m).toBe(7);
  });

  it('a two-block cycle among TCP blocks ends, and a shared block is refused only in exact mode', () => {
    const bytes = sampleBytes();
    const image = SegmentImage.region(bytes, BASE);
    const doc = decodeTree(image, BASE);
    const tcp0 = doc.blocks[0]!.dependents[0]!.dependents[0]!;
    const tcp1 = doc.blocks[0]!.dependents[0]!.dependents[1]!;
    const cyclic = bytes.slice();
    setPtr(cyclic, tcp1.offset! + off('NextBlock'), BigInt(tcp0.address));
    for (const revisits of ['bound', 'exact'] as const) {
      const w = new TreeWalker({ revisits }).reset(SegmentImage.region(cyclic, BASE), BASE);
      expect(() => {
        while (w.next());
      }).toThrow(WalkError);
    }

    const shared = bytes.slice();
    const path6 = doc.blocks[0]!.dependents[1]!;
    setPtr(shared, path6.offset! + off('DependentBlockList'), BigInt(tcp0.address));
    const sharedImage = SegmentImage.region(shared, BASE);
    const bound = new TreeWalker().reset(sharedImage, BASE);
    let n = 0;
    while (bound.next()) n++;
    expect(n).toBe(12); // tcp0 -> tcp1 -> tcp2 walked a second time under the IPv6 path, not the lone TCP block
    const exact = new TreeWalker({ revisits: 'exact' }).reset(sharedImage, BASE);
    const err = (() => {
      try {
        while (exact.next());
      } catch (e) {
        return e;
      }
      return undefined;
    })() as WalkError;
    expect(err).toBeInstanceOf(WalkError);
    expect(err.address).toBe(BigInt(tcp0.address));
  });

  it('a dangling pointer throws AddressError; maxBlocks stops with a limit error', () => {
    const bytes = sampleBytes();
    setPtr(bytes, off('DependentBlockList'), 0xffff800000001000n);
    const w = new TreeWalker().reset(SegmentImage.region(bytes, BASE), BASE);
    expect(w.next()).toBe(true);
    expect(() => w.next()).toThrow(AddressError);

    const limited = new TreeWalker({ maxBlocks: 3 }).reset(SegmentImage.region(sampleBytes(), BASE), BASE);
    let n = 0;
    const e = (() => {
      try {
        while (limited.next()) n++;
      } catch (err) {
        return err;
      }
      return undefined;
    })() as WalkError;
    expect(n).toBe(3);
    expect(e.reason).toBe('limit');
  });
});

describe('scale', () => {
  // Left out of mutation runs only (vitest.stryker.config.ts sets MUTATION_RUN): seconds per mutant.
  it.skipIf(process.env.MUTATION_RUN)('walks a chain of a million TCP blocks in both modes, without recursion', () => {
    const n = 1_000_000;
    const tcp = Array.from({ length: n }, () => ({ role: 'placeholder' as const }));
    const enc = encodeTree({ blocks: [{ role: 'placeholder', dependents: [{ role: 'placeholder', dependents: tcp }] }] });
    const image = SegmentImage.region(enc.bytes, enc.base);
    for (const revisits of ['bound', 'exact'] as const) {
      const w = new TreeWalker({ revisits }).reset(image, enc.root);
      let count = 0;
      let tcpCount = 0;
      let lastOffset = -1;
      while (w.next()) {
        count++;
        if (w.layer === 2) tcpCount++;
        if (w.offset <= lastOffset) throw new Error('out of order');
        lastOffset = w.offset;
      }
      expect(count).toBe(n + 2);
      expect(tcpCount).toBe(n);
    }
  });
});
