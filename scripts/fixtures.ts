/**
 * Builds every fixtures/NAME.bin from the description beside it, fixtures/NAME.json: a tree
 * document (encoded compactly at its base), plus for broken images `patches` applied afterwards
 * and `expectDiagnostics` that decoding must produce; and fixtures/sample-x64.dmp, a small bitmap
 * crash dump holding the sample tree (buildSampleDump). `npm run fixtures`; a test regenerates
 * them all and requires identical bytes.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { buildAddressSpace, writeBitmapDump } from '../src/codec/dump-writer.js';
import { SegmentImage } from '../src/codec/image.js';
import { writeStruct } from '../src/codec/struct-io.js';
import { abiByName } from '../src/layout/abi.js';
import type { NdisRevision } from '../src/layout/descriptor.js';
import type { Operation } from '../src/layout/constants.js';
import { layoutOf } from '../src/layout/registry.js';
import { decodeTree, type DecodeOptions } from '../src/tree/decode.js';
import type { BlockJson } from '../src/tree/document.js';
import { encodeTree, type EncodeInput } from '../src/tree/encode.js';
import { stateParts, stateType } from '../src/tree/state.js';

export interface FixtureDescription extends EncodeInput {
  description: string;
  decodeOptions?: { operation?: Operation; abi?: string; ndis?: NdisRevision };
  /** Edits after encoding: a member of the block at `path`, or a truncation of the image. */
  patches?: ({ path: string; member: string; value: number | string } | { truncate: string })[];
  expectDiagnostics?: { code: string; path: string }[];
}

export const fixtureNames = (): string[] =>
  readdirSync('fixtures')
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();

export const readDescription = (name: string): FixtureDescription =>
  JSON.parse(readFileSync(`fixtures/${name}.json`, 'utf8')) as FixtureDescription;

export function decodeOptionsOf(d: FixtureDescription): DecodeOptions {
  const o = d.decodeOptions ?? {};
  return {
    abi: abiByName(o.abi ?? d.abi ?? 'x64'),
    ndis: (o.ndis ?? d.ndis ?? '6.1') as NdisRevision,
    ...(o.operation ? { operation: o.operation } : {}),
  };
}

/** The bytes of a fixture and the address of its first byte (the root). */
export function buildFixture(d: FixtureDescription): { bytes: Uint8Array; base: bigint } {
  const enc = encodeTree(d);
  if (!d.patches?.length) return { bytes: enc.bytes, base: enc.base };
  const options = decodeOptionsOf(d);
  const clean = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, options);
  const byPath = new Map<string, BlockJson>();
  const index = (bs: BlockJson[], path: string): void =>
    bs.forEach((b, i) => {
      byPath.set(`${path}[${i}]`, b);
      index(b.dependents, `${path}[${i}].dependents`);
    });
  index(clean.blocks, 'blocks');
  // "&blocks[0].dependents[1]+4": the address of that block, plus 4.
  const resolve = (v: number | string): bigint => {
    if (typeof v === 'number') return BigInt(v);
    const m = /^&([^+]+)(?:\+(\d+))?$/.exec(v);
    if (!m) return BigInt(v);
    const b = byPath.get(m[1]!);
    if (!b) throw new Error(`patch: no block at ${m[1]}`);
    return BigInt(b.address) + BigInt(m[2] ?? 0);
  };
  let bytes = enc.bytes;
  const dv = new DataView(bytes.buffer);
  const abi = options.abi!;
  const ndis = options.ndis!;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  for (const p of d.patches) {
    if ('truncate' in p) {
      bytes = bytes.slice(0, Number(resolve(p.truncate) - enc.base));
      continue;
    }
    const b = byPath.get(p.path);
    if (!b) throw new Error(`patch: no block at ${p.path}`);
    const [head, ...rest] = p.member.split('.');
    const nest = (keys: string[], value: unknown): Record<string, unknown> =>
      keys.length === 1 ? { [keys[0]!]: value } : { [keys[0]!]: nest(keys.slice(1), value) };
    const value = p.member.endsWith('Block') || p.member.endsWith('List') ? resolve(p.value) : Number(resolve(p.value));
    if (head === 'state') {
      const part = stateParts(stateType(b.Header.Type)!, abi, ndis).find((x) => x.name === rest[0])!;
      writeStruct(part.layout, dv, b.offset! + blockLayout.size + part.offset, nest(rest.slice(1), value));
    } else {
      writeStruct(blockLayout, dv, b.offset!, nest(p.member.split('.'), value));
    }
  }
  return { bytes, base: enc.base };
}

/**
 * fixtures/sample-x64.dmp: the sample tree in a 64-bit bitmap crash dump, its root 0xf80 bytes
 * into a page so that the first neighbor block straddles two pages whose frames lie far apart;
 * the second page is mapped by a transition PTE. Deterministic: fixed seed, time and header.
 */
export const SAMPLE_DUMP = { file: 'fixtures/sample-x64.dmp', fixture: 'sample-x64', root: 0xffffc70a12340f80n } as const;

export function buildSampleDump(): Uint8Array {
  const d = readDescription(SAMPLE_DUMP.fixture);
  const { bytes } = buildFixture({ ...d, base: `0x${SAMPLE_DUMP.root.toString(16)}` });
  const page = SAMPLE_DUMP.root & ~0xfffn;
  const space = buildAddressSpace([{ address: SAMPLE_DUMP.root, bytes }], { scatter: 2024, transition: [page + 0x1000n], dtbFlags: 0x2 });
  return writeBitmapDump(space, {
    minorVersion: 19041,
    processors: 4,
    bugCheckCode: 0xe2,
    systemTime: new Date('2024-01-02T03:04:05.678Z'),
    comment: 'ndis-offload sample: fixtures/sample-x64.json at 0xffffc70a12340f80',
  }).toBytes();
}

if (process.argv[1]?.endsWith('fixtures.ts')) {
  for (const name of fixtureNames()) {
    const { bytes } = buildFixture(readDescription(name));
    writeFileSync(`fixtures/${name}.bin`, bytes);
    console.log(`fixtures/${name}.bin: ${bytes.length} bytes`);
  }
  const dump = buildSampleDump();
  writeFileSync(SAMPLE_DUMP.file, dump);
  console.log(`${SAMPLE_DUMP.file}: ${dump.length} bytes`);
}
