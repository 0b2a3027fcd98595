/**
 * Trees built by C, decoded by the library (issue 3). A C program compiled from the descriptors'
 * C declarations builds offload state trees in a static arena with real pointers and reports every
 * member as C reads it; the library must decode the arena to exactly that, re-encode it byte for
 * byte, and survive a compact re-encoding. See test/support/c-trees.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import { ALLOWED_STATUS, NDIS_STATUS_VALUES, OPERATIONS, type Operation, statusHex } from '../../src/layout/constants.js';
import { NDIS_REVISIONS } from '../../src/layout/descriptor.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { BlockJson, TreeDocument } from '../../src/tree/document.js';
import { encodeOntoCopy, encodeTree, type EncodeInput } from '../../src/tree/encode.js';
import {
  ARENA_ADDRESS,
  type CBlockReport,
  type CTreeReport,
  compileTreeProgram,
  readStatuses,
  runTrees,
  treeGate,
  type TreeProgram,
  type TreeRun,
} from '../support/c-trees.js';

/** A decoded block without its dependents. */
type FlatBlock = Pick<BlockJson, 'address' | 'layer' | 'role' | 'Status' | 'state'> & Record<string, unknown>;

/** The decoded blocks in tree order, each with its path and without its dependents. */
function flatten(blocks: BlockJson[], prefix = 'blocks'): { path: string; block: FlatBlock }[] {
  return blocks.flatMap((b, i) => {
    const { dependents, ...block } = b;
    const path = `${prefix}[${i}]`;
    return [{ path, block }, ...flatten(dependents, `${path}.dependents`)];
  });
}

/** Leaf values of a JSON value: what one comparison of it checks. */
const leaves = (v: unknown): number =>
  v !== null && typeof v === 'object' ? Object.values(v).reduce<number>((n, e) => n + leaves(e), 0) : 1;

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const firstDifference = (a: Uint8Array, b: Uint8Array): string => {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i < 0 ? (a.length === b.length ? 'none' : `lengths ${a.length} and ${b.length}`) : `first at offset ${i} (0x${i.toString(16)}): ${a[i]} vs ${b[i]}`;
};

/** A document with everything that depends on where the blocks lie taken out. */
function placeless(doc: TreeDocument): unknown {
  const strip = (blocks: BlockJson[]): unknown[] =>
    blocks.map((b) => {
      const { address, offset, NextBlock, DependentBlockList, MiniportOffloadContext, dependents, state, ...rest } = b;
      const parts = state
        ? Object.fromEntries(
            Object.entries(state).map(([name, part]) => {
              const { SourceAddress, DestinationAddress, ...p } = part;
              return [name, p];
            }),
          )
        : undefined;
      return { ...rest, ...(parts ? { state: parts } : {}), dependents: strip(dependents) };
    });
  const { base, root, blocks, ...rest } = doc;
  return { ...rest, blocks: strip(blocks) };
}

const totals = { values: 0, blocks: 0, trees: 0, inferred: 0, bytes: 0, compact: 0, statuses: 0 };
afterAll(() => {
  if (totals.trees) {
    console.info(
      `c-trees: ${totals.trees} trees, ${totals.blocks} blocks, ${totals.values} C values compared with the decoded documents; ` +
        `${totals.inferred} blocks checked decoded without the operation; ${totals.bytes} arena bytes re-encoded; ` +
        `${totals.compact} trees compact-encoded and decoded again; ${totals.statuses} statuses read back by C`,
    );
  }
});

const ABI_LIST: readonly Abi[] = [X64, X86];
const KERNEL_BASE = { x64: 0xffffc70a12340000n, x86: 0x80a00000n } as const;

for (const abi of ABI_LIST) {
  const { skip, note } = treeGate(abi);
  for (const ndis of NDIS_REVISIONS) {
    describe.skipIf(skip)(`${abi.name}, NDIS ${ndis}: trees built in C decode to what C reads${note}`, () => {
      // One compile and one run per ABI and revision, on first use, shared by the tests below.
      let program: TreeProgram | undefined;
      let run: TreeRun | undefined;
      const built = (): { program: TreeProgram; run: TreeRun } => {
        program ??= compileTreeProgram(abi, ndis);
        run ??= runTrees(program);
        return { program, run };
      };
      afterAll(() => program?.dispose());

      const image = (): SegmentImage => SegmentImage.region(built().run.bytes.slice(), built().run.base);
      const treesOf = (op: Operation): CTreeReport[] => {
        const trees = built().run.trees.filter((t) => t.operation === op);
        expect(trees.length).toBeGreaterThan(0);
        return trees;
      };
      const decode = (tree: CTreeReport, operation?: Operation): TreeDocument =>
        decodeTree(image(), BigInt(tree.root), { abi, ndis, ...(operation ? { operation } : {}) });

      it('the program is the one for this ABI and revision, and its arena is the image', () => {
        const { run } = built();
        expect(run.abi).toBe(abi.name);
        expect(run.ndis).toBe(ndis === '6.1' ? 61 : 60);
        expect(run.bytes.length).toBeGreaterThan(0);
        expect(run.base % 16n).toBe(0n);
        expect(run.base).toBe(ARENA_ADDRESS[abi.name]);
      });

      for (const op of OPERATIONS) {
        describe(op, () => {
          it('decodes every tree to every value C reads: blocks, roles, layers, state, IP text, *MiniportOffloadContext', () => {
            for (const tree of treesOf(op)) {
              const doc = decode(tree, op);
              expect(doc.diagnostics, tree.name).toEqual([]);
              expect(doc.operation).toBe(op);
              expect(doc.root).toBe(tree.root);
              expect(BigInt(doc.base!)).toBe(built().run.base);
              const decoded = flatten(doc.blocks);
              // Shape: the same blocks in the same order at the same places, so the same counts per layer.
              expect(decoded.map((d) => d.path), tree.name).toEqual(tree.blocks.map((c) => c.path));
              const perLayer = (layers: string[]): Record<string, number> =>
                layers.reduce<Record<string, number>>((m, l) => ({ ...m, [l]: (m[l] ?? 0) + 1 }), {});
              expect(perLayer(decoded.map((d) => d.block.layer))).toEqual(perLayer(tree.blocks.map((c) => c.layer)));
              tree.blocks.forEach((c: CBlockReport, i) => {
                const { path, ...expected } = c;
                expect(decoded[i]!.block, `${tree.name}: ${path}`).toEqual(expected);
                totals.values += leaves(expected);
              });
              totals.blocks += tree.blocks.length;
              totals.trees++;
            }
          });

          it('decodes every tree without the operation to the same roles and state (state presence inferred)', () => {
            for (const tree of treesOf(op)) {
              const doc = decode(tree);
              expect(doc.operation).toBeNull();
              expect(doc.diagnostics.filter((d) => d.severity !== 'info'), tree.name).toEqual([]);
              expect(doc.diagnostics.every((d) => d.code === 'STATE_INFERRED'), tree.name).toBe(true);
              const decoded = flatten(doc.blocks);
              expect(decoded.map((d) => d.path)).toEqual(tree.blocks.map((c) => c.path));
              expect(decoded.map((d) => `${d.path} ${d.block.role} ${d.block.state ? 'state' : 'none'}`), tree.name).toEqual(
                tree.blocks.map((c) => `${c.path} ${c.role} ${c.state ? 'state' : 'none'}`),
              );
              // With the presence right, every value is the same as with the operation given.
              tree.blocks.forEach((c, i) => {
                const { path, ...expected } = c;
                expect(decoded[i]!.block, `${tree.name}: ${path}`).toEqual(expected);
              });
              totals.inferred += tree.blocks.length;
            }
          });

          it('encodes every decoded document back onto the arena byte for byte', () => {
            const { run } = built();
            for (const tree of treesOf(op)) {
              const doc = decode(tree, op);
              const out = encodeOntoCopy(clone(doc) as unknown as EncodeInput, run.bytes, run.base, { abi, ndis });
              expect(firstDifference(out, run.bytes), tree.name).toBe('none');
              totals.bytes += run.bytes.length;
            }
          });

          it('compact-encodes every decoded document and decodes the same document again', () => {
            for (const [k, tree] of treesOf(op).entries()) {
              const doc = decode(tree, op);
              // At the arena's base, and at kernel addresses (x64: above 2^53, where a double is not exact).
              const base = k % 2 ? undefined : KERNEL_BASE[abi.name];
              const enc = encodeTree(clone(doc) as unknown as EncodeInput, { abi, ndis, ...(base ? { base } : {}) });
              expect(enc.base).toBe(base ?? built().run.base);
              const again = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, { abi, ndis, operation: op });
              expect(again.diagnostics, tree.name).toEqual([]);
              expect(placeless(again), tree.name).toEqual(placeless(doc));
              // And the compact image is a fixed point of the encoder.
              const twice = encodeTree(clone(again) as unknown as EncodeInput, { abi, ndis, base: enc.base });
              expect(firstDifference(twice.bytes, enc.bytes), tree.name).toBe('none');
              totals.compact++;
            }
          });
        });
      }

      it('a second run of the program, reading the arena bytes back, walks the trees to the same statuses', () => {
        const { program, run } = built();
        const back = readStatuses(program, run.bytes);
        expect(BigInt(back.base)).toBe(run.base);
        expect(back.length).toBe(run.bytes.length);
        expect(back.trees.map((t) => t.blocks)).toEqual(run.trees.map((t) => t.blocks.map((b) => ({ path: b.path, address: b.address, Status: b.Status }))));
      });

      it('statuses written by the encoder are the statuses C reads through the tree', () => {
        const { program, run } = built();
        // Give every block of every tree a new status allowed for its operation, all onto one copy.
        let bytes = run.bytes;
        const expected: { path: string; address: string; Status: { value: number; hex: string; name: string } }[][] = [];
        let n = 0;
        for (const tree of run.trees) {
          const doc = decode(tree, tree.operation);
          const written: (typeof expected)[number] = [];
          for (const { path, block } of flatten(doc.blocks)) {
            const allowed = ALLOWED_STATUS[tree.operation];
            const name = block.role === 'placeholder' ? 'NDIS_STATUS_SUCCESS' : allowed[n++ % allowed.length]!;
            const value = NDIS_STATUS_VALUES[name];
            written.push({ path, address: block.address, Status: { value, hex: statusHex(value), name } });
          }
          // Edit the document in tree order: the same walk as `flatten`.
          let k = 0;
          const edit = (blocks: BlockJson[]): void => {
            for (const b of blocks) {
              b.Status = { ...written[k++]!.Status };
              edit(b.dependents);
            }
          };
          edit(doc.blocks);
          bytes = encodeOntoCopy(clone(doc) as unknown as EncodeInput, bytes, run.base, { abi, ndis });
          expected.push(written);
        }
        expect(bytes.some((b, i) => b !== run.bytes[i])).toBe(true);
        const back = readStatuses(program, bytes);
        expect(back.trees.map((t) => t.blocks)).toEqual(expected);
        totals.statuses += expected.reduce((s, t) => s + t.length, 0);
      });
    });
  }
}

describe('the C tree check can fail', () => {
  // Guards against a comparison that passes vacuously: a changed byte, or a decoder reading with
  // the wrong NDIS revision, must disagree with C.
  const { skip, note } = treeGate(X64);
  let program: TreeProgram | undefined;
  let run: TreeRun | undefined;
  const built = (): TreeRun => (run ??= runTrees((program ??= compileTreeProgram(X64, '6.1'))));
  afterAll(() => program?.dispose());

  it.skipIf(skip)(`one byte changed in a block member is a disagreement with C${note}`, () => {
    const r = built();
    const tree = r.trees[0]!;
    const c = tree.blocks[0]!;
    const bytes = r.bytes.slice();
    const at = c.offset + layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64, '6.1').fields.find((f) => f.name === 'PortNumber')!.offset;
    bytes[at] = bytes[at]! ^ 0x10;
    const doc = decodeTree(SegmentImage.region(bytes, r.base), BigInt(tree.root), { abi: X64, ndis: '6.1', operation: tree.operation });
    const { path, ...expected } = c;
    expect(flatten(doc.blocks)[0]!.block).not.toEqual(expected);
    expect(flatten(doc.blocks)[0]!.block.PortNumber).toBe((c.PortNumber as number) ^ 0x10);
  });

  it.skipIf(skip)(`decoding the NDIS 6.1 arena as NDIS 6.0 disagrees with C${note}`, () => {
    const r = built();
    const tree = r.trees.find((t) => t.operation === 'query' && t.blocks.some((b) => b.state?.TCP_OFFLOAD_STATE_DELEGATED))!;
    const doc = decodeTree(SegmentImage.region(r.bytes, r.base), BigInt(tree.root), { abi: X64, ndis: '6.0', operation: 'query' });
    expect(doc.diagnostics.map((d) => d.code)).toContain('STATE_LENGTH_MISMATCH');
    const c = tree.blocks.find((b) => b.state?.TCP_OFFLOAD_STATE_DELEGATED)!;
    const d = flatten(doc.blocks).find((b) => b.path === c.path)!;
    expect(d.block.state?.TCP_OFFLOAD_STATE_DELEGATED).not.toEqual(c.state!.TCP_OFFLOAD_STATE_DELEGATED);
  });
});
