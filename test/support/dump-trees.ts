/**
 * Fixture trees placed at kernel addresses in synthetic crash dumps and physical images, for the
 * tests that read trees through page tables (test/tree/dumps.test.ts, test/cli/dumps.test.ts).
 * Each tree is encoded at its fixture base plus 0xf80, so that its first block and much of what
 * follows straddle page boundaries, and its pages are scattered over physical memory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressSpace, AddressSpaceOptions, PageSize, WriterRegion } from '../../src/codec/dump-builder.js';
import { buildAddressSpace, writeBitmapDump, writeFullDump, writeRawPhysical } from '../../src/codec/dump-writer.js';
import type { DecodeOptions } from '../../src/tree/decode.js';
import type { BlockJson, TreeDocument } from '../../src/tree/document.js';
import { buildFixture, decodeOptionsOf, readDescription } from '../../scripts/fixtures.js';

export interface PlacedTree {
  name: string;
  root: bigint;
  bytes: Uint8Array;
  options: DecodeOptions;
  /** The --operation/--ndis arguments equivalent to `options`, for CLI runs. */
  args: string[];
  pageSize: PageSize;
}

export const SHIFT = 0xf80n;

/** A fixture encoded at its own base + SHIFT (or at `root`). */
export function placeTree(name: string, pageSize: PageSize = 0x1000, root?: bigint): PlacedTree {
  const d = readDescription(name);
  const at = root ?? BigInt(d.base!) + SHIFT;
  const { bytes } = buildFixture({ ...d, base: `0x${at.toString(16)}` });
  const options = decodeOptionsOf(d);
  const args = [
    ...(options.operation ? ['--operation', options.operation] : []),
    ...(options.ndis ? ['--ndis', options.ndis] : []),
  ];
  return { name, root: at, bytes, options, args, pageSize };
}

/** The trees every dump of the suite holds: 4 KiB pages (one by a transition PTE) and a 2 MiB page. */
export function standardTrees(): PlacedTree[] {
  return [
    placeTree('sample-x64'),
    placeTree('query-x64', 0x200000),
    placeTree('large-x64'),
    placeTree('every-state-type-ndis60-x64'),
  ];
}

export const regionsOf = (trees: readonly PlacedTree[]): WriterRegion[] =>
  trees.map((t) => ({ address: t.root, bytes: t.bytes, pageSize: t.pageSize }));

/** The first page after the one holding the root: mapped by a transition PTE in the standard space. */
export const secondPage = (t: PlacedTree): bigint => (t.root & ~0xfffn) + 0x1000n;

export function standardSpace(trees: readonly PlacedTree[], options: AddressSpaceOptions = {}): AddressSpace {
  const sample = trees.find((t) => t.name === 'sample-x64');
  return buildAddressSpace(regionsOf(trees), {
    scatter: 7,
    dtbFlags: 0x1,
    ...(sample ? { transition: [secondPage(sample)] } : {}),
    ...options,
  });
}

export type CaptureKind = 'full' | 'bitmap' | 'raw';
export const CAPTURE_KINDS: readonly CaptureKind[] = ['full', 'bitmap', 'raw'];

export interface WrittenCaptures {
  dir: string;
  files: Record<CaptureKind, string>;
  dtb: bigint;
}

export const HEADER = {
  minorVersion: 22631,
  processors: 8,
  bugCheckCode: 0x9f,
  bugCheckParameters: [3n, 0xffffc70a0f6e2a40n, 0xfffff8034a000100n, 0xffffc70a12345000n] as const,
  systemTime: new Date('2024-03-04T05:06:07.890Z'),
  systemUpTime: 36_000_000_000n + 10_000_000n * 125n,
  comment: 'ndis-offload test dump',
};

/** Writes the space as a full dump, a bitmap dump and a raw physical image in a new temp folder. */
export function writeCaptures(space: AddressSpace, prefix = 'ndis-dumps-'): WrittenCaptures {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = { full: join(dir, 'full.dmp'), bitmap: join(dir, 'bitmap.dmp'), raw: join(dir, 'memory.raw') };
  writeFullDump(space, HEADER).toFile(files.full);
  writeBitmapDump(space, HEADER).toFile(files.bitmap);
  writeRawPhysical(space).toFile(files.raw);
  return { dir, files, dtb: space.dtb };
}

/** A tree's bytes as a region file (the plain capture to compare with). */
export function writeRegion(dir: string, t: PlacedTree): string {
  const path = join(dir, `${t.name}.bin`);
  writeFileSync(path, t.bytes);
  return path;
}

/** The document with what depends on the kind of source (`base`, every `offset`) set to null. */
export function normalised(doc: TreeDocument): TreeDocument {
  const blocks = (bs: BlockJson[]): BlockJson[] => bs.map((b) => ({ ...b, offset: null, dependents: blocks(b.dependents) }));
  return { ...doc, base: null, blocks: blocks(doc.blocks), diagnostics: doc.diagnostics.map((d) => ({ ...d, offset: null })) };
}

/** Every block by its path. */
export function blocksByPath(doc: TreeDocument): Map<string, BlockJson> {
  const out = new Map<string, BlockJson>();
  const walk = (bs: BlockJson[], path: string): void =>
    bs.forEach((b, i) => {
      out.set(`${path}[${i}]`, b);
      walk(b.dependents, `${path}[${i}].dependents`);
    });
  walk(doc.blocks, 'blocks');
  return out;
}
