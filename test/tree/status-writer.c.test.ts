/**
 * Trees built by C (test/support/c-trees.ts), completed by the StatusWriter for their operation,
 * read back by C. The C program builds its trees in a static arena with real pointers; the writer
 * completes every tree in one copy of the arena with per-block decisions (statusByAddress, decide,
 * the default status); a second run of the same program loads those bytes at the arena's address,
 * walks every tree through its own pointers and prints each block's Status. Every Status must be
 * the one the rules give (test/support/arbitraries.ts `modelCompletion`, from the roles C built),
 * and no byte but Status words may change. Then the same with one status for every tree (the
 * writer's one-walk path).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import type { Operation } from '../../src/layout/constants.js';
import { layoutOf } from '../../src/layout/registry.js';
import { type CompleteOptions, StatusWriter } from '../../src/tree/status-writer.js';
import { type CTreeReport, compileTreeProgram, readStatuses, runTrees, treeGate, type TreeProgram, type TreeRun } from '../support/c-trees.js';
import { ALLOWED, type Role, callerDecides, modelCompletion, statusJson } from '../support/arbitraries.js';

interface CNode {
  path: string;
  address: bigint;
  offset: number;
  role: Role;
  layer: number;
  owner: number;
}

/** The blocks C reports, in tree order, with the index of the block whose dependents each is. */
function nodesOf(tree: CTreeReport): CNode[] {
  const index = new Map(tree.blocks.map((b, i) => [b.path, i]));
  return tree.blocks.map((b) => {
    const cut = b.path.lastIndexOf('.dependents[');
    return {
      path: b.path,
      address: BigInt(b.address),
      offset: b.offset,
      role: b.role,
      layer: (b.path.match(/\.dependents\[/g) ?? []).length,
      owner: cut < 0 ? -1 : index.get(b.path.slice(0, cut))!,
    };
  });
}

type Expected = { path: string; address: string; Status: ReturnType<typeof statusJson> }[][];

const CASES: { abi: Abi; ndis: NdisRevision; seed: bigint }[] = [
  { abi: X64, ndis: '6.1', seed: 0x57a7e5n },
  { abi: X86, ndis: '6.0', seed: 0xc0ffeen },
];

let totals = { trees: 0, blocks: 0 };
afterAll(() => {
  if (totals.trees) console.info(`status-writer.c: ${totals.trees} trees, ${totals.blocks} statuses written by the StatusWriter and read back by C`);
  totals = { trees: 0, blocks: 0 };
});

for (const { abi, ndis, seed } of CASES) {
  const { skip, note } = treeGate(abi);
  describe.skipIf(skip)(`${abi.name}, NDIS ${ndis}: trees built in C, completed by the StatusWriter, read back by C${note}`, () => {
    let program: TreeProgram | undefined;
    let run: TreeRun | undefined;
    const built = (): { program: TreeProgram; run: TreeRun } => {
      program ??= compileTreeProgram(abi, ndis, { seed });
      run ??= runTrees(program);
      return { program, run };
    };
    afterAll(() => program?.dispose());
    const statusOffset = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis).fields.find((f) => f.name === 'Status')!.offset;

    /** Completes every tree in one copy of the arena; returns the bytes and what each block must read. */
    function completeAll(options: (op: Operation, t: number, nodes: CNode[]) => { options: CompleteOptions; decision: (i: number) => number }): {
      bytes: Uint8Array;
      expected: Expected;
    } {
      const { run } = built();
      const bytes = run.bytes.slice();
      const image = SegmentImage.region(bytes, run.base);
      const writer = new StatusWriter();
      const expected: Expected = [];
      run.trees.forEach((tree, t) => {
        const nodes = nodesOf(tree);
        const { options: o, decision } = options(tree.operation, t, nodes);
        const model = modelCompletion(nodes, tree.operation, decision);
        expect(model.refused, tree.name).toEqual([]);
        const summary = writer.complete(image, BigInt(tree.root), o);
        expect(summary.blocks, tree.name).toBe(nodes.length);
        const byRole = { placeholder: 0, linker: 0, 'new-offload': 0 };
        for (const n of nodes) byRole[n.role]++;
        expect(summary.byRole, tree.name).toEqual(byRole);
        expected.push(nodes.map((n, i) => ({ path: n.path, address: tree.blocks[i]!.address, Status: statusJson(model.statuses[i]!) })));
        totals.trees++;
        totals.blocks += nodes.length;
      });
      // Only Status words changed.
      const statusBytes = new Set(run.trees.flatMap((tree) => tree.blocks.flatMap((b) => [0, 1, 2, 3].map((k) => b.offset + statusOffset + k))));
      const outside = [...bytes.keys()].filter((i) => bytes[i] !== run.bytes[i] && !statusBytes.has(i));
      expect(outside, 'bytes changed outside every Status word').toEqual([]);
      return { bytes, expected };
    }

    it('per-block decisions: every Status C reads back is the one the writer had to write', () => {
      const { program, run } = built();
      expect(run.trees.length).toBeGreaterThan(30);
      const { bytes, expected } = completeAll((op, t, nodes) => {
        const allowedHere = ALLOWED[op];
        // A block's decision comes from the map, decide, or the default, in turn; values cycle over the allowed ones.
        const source = (i: number): 'map' | 'decide' | 'default' => (['map', 'decide', 'default'] as const)[(i + t) % 3]!;
        const value = (i: number): number => allowedHere[(i * 7 + t) % allowedHere.length]!;
        const fallback = allowedHere[t % allowedHere.length]!;
        const byAddress = new Map(nodes.map((n, i) => [n.address, i]));
        const decided: number[] = [];
        return {
          options: {
            operation: op,
            abi,
            status: fallback,
            statusByAddress: new Map(nodes.flatMap((n, i) => (source(i) === 'map' ? [[n.address, value(i)] as const] : []))),
            decide: (address, layer) => {
              const i = byAddress.get(address)!;
              expect(layer).toBe(nodes[i]!.layer);
              expect(callerDecides(nodes[i]!.role, op)).toBe(true);
              decided.push(i);
              return source(i) === 'decide' ? value(i) : undefined;
            },
          },
          decision: (i) => (source(i) === 'default' ? fallback : value(i)),
        };
      });
      const back = readStatuses(program, bytes);
      expect(BigInt(back.base)).toBe(run.base);
      expect(back.trees.map((t) => t.name)).toEqual(run.trees.map((t) => t.name));
      back.trees.forEach((t, i) => expect(t.blocks, t.name).toEqual(expected[i]));
    });

    it('one status for every block the caller decides: what C reads back follows the same rules', () => {
      const { program } = built();
      const { bytes, expected } = completeAll((op, t) => {
        const status = ALLOWED[op][(t * 5) % ALLOWED[op].length]!;
        return { options: { operation: op, abi, status }, decision: () => status };
      });
      const back = readStatuses(program, bytes);
      back.trees.forEach((t, i) => expect(t.blocks, t.name).toEqual(expected[i]));
      // Not vacuous: in initiate trees, linkers whose dependents all, some and none succeeded.
      const { run } = built();
      const linkers = new Set(
        run.trees.flatMap((tree, t) => (tree.operation === 'initiate' ? tree.blocks.flatMap((b, i) => (b.role === 'linker' ? [expected[t]![i]!.Status.name] : [])) : [])),
      );
      expect([...linkers].sort()).toEqual(['NDIS_STATUS_FAILURE', 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS', 'NDIS_STATUS_SUCCESS']);
    });
  });
}
