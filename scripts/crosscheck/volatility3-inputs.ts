/**
 * Writes one capture of each format that holds offload trees, and a manifest of what this library
 * reads from each, for scripts/crosscheck/volatility3.py (Volatility 3's layers) and
 * scripts/crosscheck/kdmp-parser.py (kdmp-parser, the 64-bit dumps) to compare with. A check run
 * once by hand and recorded in docs/testing.md; no test depends on it.
 *
 *   npx tsx scripts/crosscheck/volatility3-inputs.ts [OUT_DIR]     (default /tmp/ndis-vol3)
 *
 * The captures come from the test suite's writers. The standard x64 trees
 * (test/support/dump-trees.ts: scattered frames, blocks straddling pages, a 2 MiB page, a
 * transition PTE) behind a Windows-like PML4 (test/support/dtb-images.ts: the self-map,
 * KUSER_SHARED_DATA), with a missing, a paged-out and a not stored page added: as LiME, QEMU ELF64,
 * VirtualBox ELF64, VMware .vmem + .vmss and 64-bit dumps of DumpTypes 1, 5, 6, 8, 9 and 10. The
 * x86 trees (test/support/x86-dumps.ts: a 2 or 4 MiB page, the self-map, the PAE PDPT in the middle
 * of its frame, the same holes): as 32-bit dumps of types 1 and 5, PAE and non-PAE, a PAE bitmap
 * dump with its PDPT page aligned and its frames above 4 GiB, and ELF32 cores. And the bundled
 * samples of fixtures/ (a 64-bit dump, LiME, VMware, a 32-bit PAE dump). Each file is opened
 * with openCaptureImage as the CLI opens it; manifest.json holds, per file, the DTB and paging
 * chosen and what was read through them:
 *
 * - `blocks`: every byte of every block and state structure of every tree (annotateTree's ranges,
 *   joined where the ranges of one block touch), as hex, read through the capture's address space;
 * - `translations`: the physical address of virtual pages (every tree page, the holes, the
 *   self-map window, every page `ranges()` lists, random kernel addresses), or null;
 * - `stored`: the physical pages stored, as [first PFN, count] runs; `frames`: the SHA-256 of
 *   every frame with content that is stored;
 * - `transition`: the virtual pages mapped by a transition PTE (a reader that does not follow
 *   them, as kdmp-parser, cannot read those);
 * - `hexdump`: what `ndis-offload hexdump FILE --root ROOT --json` prints of every tree, through
 *   the command line: each member's address, bytes and file offset (where it lies in one page).
 *
 * Before writing the manifest, every tree read through the capture must decode to exactly the
 * document its plain region gives (else this script fails): the bytes in the manifest are those
 * of the trees.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { openCaptureImage, openFileReader } from '../../src/capture/index.js';
import { main } from '../../src/cli/main.js';
import { siblingOf } from '../../src/cli/source.js';
import type { AddressSpace } from '../../src/codec/dump-builder.js';
import { type SerialisedImage, writeBitmapDump, writeFullDump, writeRdmpDump } from '../../src/codec/dump-writer.js';
import { Location, SegmentImage } from '../../src/codec/image.js';
import { PAGE_SIZE } from '../../src/codec/physical.js';
import { X64 as X64_ABI, X86 as X86_ABI } from '../../src/layout/abi.js';
import { annotateTree } from '../../src/tree/annotate.js';
import { decodeTree, type DecodeOptions } from '../../src/tree/decode.js';
import { writeElfCore, writeLime } from '../../test/support/capture-writers.js';
import { SELF_MAP, kernelSpace } from '../../test/support/dtb-images.js';
import { HEADER, normalised, secondPage, standardTrees } from '../../test/support/dump-trees.js';
import { writeVmware } from '../../test/support/vmware-writers.js';
import { CAPTURE_SAMPLES } from '../../test/support/capture-samples.js';
import { SAMPLE_DUMP } from '../fixtures.js';
import { HEADER32, SAMPLE_DUMP32, buildX86Space, placeX86Tree, writeBitmapDump32, writeFullDump32, type X86Space, x86Regions, x86Trees } from '../../test/support/x86-dumps.js';

const OUT = resolve(process.argv[2] ?? '/tmp/ndis-vol3');
mkdirSync(OUT, { recursive: true });
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

interface Tree {
  name: string;
  root: bigint;
  bytes: Uint8Array;
  options: DecodeOptions;
}

// ---------------------------------------------------------------------------------------------
// The spaces

const PLACED = standardTrees();
const X64_TREES: Tree[] = PLACED;
const sample = PLACED.find((t) => t.name === 'sample-x64')!;
const X64_HOLES = { missing: [0xffffc70a55550000n], pagedOut: [0xffffc70a55551000n], notStored: [0xffffc70a55552000n] };
// KUSER_SHARED_DATA mapped and the PML4 self-mapped at 0x1A3, as on Windows: a LiME capture has no
// CPU state, so its DTB is found by discovery.
const X64_SELF_MAP = SELF_MAP;
const X64 = kernelSpace(0x1b3, X64_HOLES, PLACED);
const PCID = 0x5n;

const X86_TREES: Tree[] = x86Trees().map((t) => ({ name: t.name, root: BigInt(t.root), bytes: t.bytes, options: t.options }));
const x86Holes = { missing: [0x9e000000], pagedOut: [0x9e001000], notStored: [0x9e002000] };
const x86Transition = [((x86Trees()[0]!.root & ~0xfff) >>> 0) + 0x1000];
const x86Space = (paging: 'pae' | 'non-pae', scatter: number, more: { pdptOffset?: number; high?: boolean } = {}): X86Space =>
  buildX86Space(x86Regions(x86Trees()), { paging, scatter, selfMap: true, transition: x86Transition, ...x86Holes, ...more });
// The PDPT at 0x5a0 in its frame (the writer's default); a second PAE machine with the PDPT at the
// start of its frame and the 4 KiB frames above 4 GiB.
const PAE = x86Space('pae', 3);
const PAE_HIGH = x86Space('pae', 7, { pdptOffset: 0, high: true });
const NON_PAE = x86Space('non-pae', 5);
const asX64Writer = (s: X86Space): AddressSpace => ({ ...s, entryOf: () => undefined }) as AddressSpace;

// ---------------------------------------------------------------------------------------------
// The files

interface Capture {
  name: string;
  /** How scripts/crosscheck/volatility3.py stacks Volatility's layers. */
  volatility: 'lime' | 'elf64' | 'elf32' | 'vmware' | 'crash32' | 'crash64';
  files: string[];
  trees: Tree[];
  /** The frames with content; undefined for a bundled fixture: then every stored frame. */
  space: { frames: Map<number, Uint8Array> } | undefined;
  /** Virtual pages to translate besides the trees' and ranges()'. */
  extra: bigint[];
  /** The virtual pages mapped by transition PTEs (Windows reads them; not every reader does). */
  transition: bigint[];
}

const captures: Capture[] = [];
function add(name: string, volatility: Capture['volatility'], write: Record<string, SerialisedImage>, x86: boolean): void {
  const files = Object.entries(write).map(([file, image]) => {
    const path = join(OUT, file);
    image.toFile(path);
    return path;
  });
  const space = !x86 ? X64 : name.includes('non-pae') ? NON_PAE : name.includes('pae-high') ? PAE_HIGH : PAE;
  captures.push({ name, volatility, files, trees: x86 ? X86_TREES : X64_TREES, space, extra: [], transition: x86 ? x86Transition.map(BigInt) : [secondPage(sample)] });
}

add('lime', 'lime', { 'x64.lime': writeLime(X64, { ranges: 'frames' }) }, false);
add('qemu-elf64', 'elf64', { 'x64-qemu.core': writeElfCore(X64, { cr3: [X64.dtb | PCID, X64.dtb + 0x1000n] }) }, false);
add('virtualbox-elf64', 'elf64', { 'x64-virtualbox.core': writeElfCore(X64, { producer: 'virtualbox', mmio: [{ physical: 0xfe000000, length: 0x1000000 }] }) }, false);
const vmware = writeVmware(X64, { ranges: 'frames' });
add('vmware', 'vmware', { 'x64.vmem': vmware.vmem!, 'x64.vmss': vmware.state }, false);
add('dump64-type1', 'crash64', { 'x64-type1.dmp': writeFullDump(X64, HEADER) }, false);
add('dump64-type5', 'crash64', { 'x64-type5.dmp': writeBitmapDump(X64, HEADER) }, false);
add('dump64-type6', 'crash64', { 'x64-type6.dmp': writeBitmapDump(X64, { ...HEADER, dumpType: 6, signature: 'FDMP' }) }, false);
for (const t of [8, 9, 10] as const) add(`dump64-type${t}`, 'crash64', { [`x64-type${t}.dmp`]: writeRdmpDump(X64, { ...HEADER, dumpType: t }) }, false);
add('dump32-pae-type1', 'crash32', { 'x86-pae-type1.dmp': writeFullDump32(PAE, HEADER32) }, true);
add('dump32-pae-type5', 'crash32', { 'x86-pae-type5.dmp': writeBitmapDump32(PAE, HEADER32) }, true);
add('dump32-pae-high-type5', 'crash32', { 'x86-pae-high-type5.dmp': writeBitmapDump32(PAE_HIGH, HEADER32) }, true);
add('dump32-non-pae-type1', 'crash32', { 'x86-non-pae-type1.dmp': writeFullDump32(NON_PAE, HEADER32) }, true);
add('dump32-non-pae-type5', 'crash32', { 'x86-non-pae-type5.dmp': writeBitmapDump32(NON_PAE, HEADER32) }, true);
add('qemu-elf32-pae', 'elf32', { 'x86-pae-qemu.core': writeElfCore(asX64Writer(PAE), { elfClass: 32, cr4: 1n << 5n }) }, true);
add('qemu-elf32-non-pae', 'elf32', { 'x86-non-pae-qemu.core': writeElfCore(asX64Writer(NON_PAE), { elfClass: 32, cr4: 1n << 4n }) }, true);

// The bundled samples (fixtures/), as they are: the sample tree in a 64-bit bitmap dump (its second
// page mapped by a transition PTE: scripts/fixtures.ts), a LiME capture and a VMware .vmem + .vmss;
// the initiate-x86 tree in a PAE bitmap dump (its second page mapped by a transition PTE too).
const SAMPLE_X86 = placeX86Tree('initiate-x86', SAMPLE_DUMP32.root);
const fixture = (name: string, volatility: Capture['volatility'], files: string[], tree: Tree, transition: bigint[]): void => {
  captures.push({ name, volatility, files: files.map((f) => resolve(f)), trees: [tree], space: undefined, extra: [], transition });
};
fixture('fixture-dump64', 'crash64', [SAMPLE_DUMP.file], sample, [secondPage(sample)]);
fixture('fixture-lime', 'lime', [CAPTURE_SAMPLES.files.lime], sample, []);
fixture('fixture-vmware', 'vmware', [CAPTURE_SAMPLES.files.vmem, CAPTURE_SAMPLES.files.vmss], sample, []);
fixture('fixture-dump32-pae', 'crash32', [SAMPLE_DUMP32.file], { name: SAMPLE_X86.name, root: BigInt(SAMPLE_X86.root), bytes: SAMPLE_X86.bytes, options: SAMPLE_X86.options }, [
  BigInt(((SAMPLE_DUMP32.root & ~0xfff) >>> 0) + 0x1000),
]);

// Virtual pages whose translation is compared besides the trees' and ranges()'.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(23);
const x64Extra: bigint[] = [...X64_HOLES.missing, ...X64_HOLES.pagedOut, ...X64_HOLES.notStored, secondPage(sample)];
// The self-map window: the PTEs, PDEs, PDPTEs and PML4Es of every tree page, seen as data.
const SELF = 0xffff000000000000n | (BigInt(X64_SELF_MAP) << 39n);
for (const t of X64_TREES) {
  for (let a = t.root & ~0xfffn; a < t.root + BigInt(t.bytes.length); a += 0x1000n) {
    const vpn = (a & 0xffffffffffffn) >> 12n;
    const pte = SELF + vpn * 8n;
    const pde = SELF + ((pte & 0xffffffffffffn) >> 12n) * 8n;
    const pdpte = SELF + ((pde & 0xffffffffffffn) >> 12n) * 8n;
    const pml4e = SELF + ((pdpte & 0xffffffffffffn) >> 12n) * 8n;
    x64Extra.push(pte, pde, pdpte, pml4e);
  }
}
for (let i = 0; i < 3000; i++) x64Extra.push(0xffff800000000000n + BigInt(Math.floor(random() * 2 ** 35)) * 0x1000n + BigInt(Math.floor(random() * 0x1000)));
const x86Extra: bigint[] = [...x86Holes.missing, ...x86Holes.pagedOut, ...x86Holes.notStored, ...x86Transition].map(BigInt);
for (let a = 0xc0000000; a < 0xc0800000; a += 0x1000) x86Extra.push(BigInt(a + 0x10));
for (let i = 0; i < 3000; i++) x86Extra.push(BigInt(Math.floor(0x80000000 + random() * 0x80000000)));
for (const c of captures) c.extra = c.volatility === 'crash32' || c.volatility === 'elf32' ? x86Extra : x64Extra;

// ---------------------------------------------------------------------------------------------
// What this library reads

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Entry {
  name: string;
  volatility: Capture['volatility'];
  files: string[];
  format: string;
  /** A crash dump's DumpType. */
  dumpType: number | null;
  variant: string;
  paging: string;
  dtb: string;
  dtbSource: string;
  blocks: { path: string; va: string; hex: string }[];
  translations: [string, string | null][];
  stored: [number, number][];
  frames: [number, string][];
  transition: string[];
  hexdump: { tree: string; address: string; offset: number | null; hex: string }[];
}

/** `ndis-offload hexdump FILE --root ROOT --json`'s ranges, as the command line prints them. */
async function hexdumpRanges(file: string, t: Tree): Promise<Entry['hexdump']> {
  let out = '';
  let err = '';
  const args = [...(t.options.operation ? ['--operation', t.options.operation] : []), ...(t.options.ndis ? ['--ndis', t.options.ndis] : [])];
  const code = await main(['hexdump', file, '--root', hex(t.root), ...args, '--json'], { out: (x) => (out += x), err: (x) => (err += x), stdoutIsTty: false, env: {} });
  if (code !== 0) throw new Error(`hexdump ${file} --root ${hex(t.root)}: exit ${code}: ${err}`);
  const doc = JSON.parse(out) as { ranges: { address: string; offset: number | null; hex: string }[] };
  return doc.ranges.map((r) => ({ tree: t.name, address: r.address, offset: r.offset, hex: r.hex }));
}

const manifest: Entry[] = [];
for (const c of captures) {
  const reader = openFileReader(c.files[0]!);
  const cap = openCaptureImage(reader, { sibling: siblingOf(c.files[0]!) });
  try {
    const image = cap.image;
    const abi = cap.abi === 'x86' ? X86_ABI : X64_ABI;
    const loc = new Location();
    const read = (va: bigint, size: number): Uint8Array => {
      if (!image.locate(va, size, loc)) throw new Error(`${c.name}: ${hex(va)} (${size} bytes) ${image.explain(va, size)}`);
      return new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, size).slice();
    };
    const blocks: Entry['blocks'] = [];
    const pages = new Set<bigint>(c.extra.map((a) => a & ~0xfffn));
    for (const t of c.trees) {
      const doc = decodeTree(image, t.root, t.options);
      const region = decodeTree(SegmentImage.region(t.bytes, t.root), t.root, t.options);
      if (region.blocks.length === 0 || !isDeepStrictEqual(normalised(doc), normalised(region))) throw new Error(`${c.name}: ${t.name} does not decode to its region's document`);
      // Every labelled range, joined where ranges of one block touch: a block with its state, and
      // apart from it the context cell *MiniportOffloadContext points to.
      const ranges = annotateTree(doc, abi).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
      let run: { path: string; va: bigint; end: bigint } | undefined;
      const flush = (): void => {
        if (run) blocks.push({ path: `${t.name} ${run.path}`, va: hex(run.va), hex: toHex(read(run.va, Number(run.end - run.va))) });
      };
      for (const r of ranges) {
        const end = r.address + BigInt(r.size);
        if (run && r.path === run.path && r.address <= run.end) run.end = end > run.end ? end : run.end;
        else {
          flush();
          run = { path: r.path, va: r.address, end };
        }
      }
      flush();
      for (let a = t.root & ~0xfffn; a < t.root + BigInt(t.bytes.length); a += 0x1000n) pages.add(a);
    }
    for (const r of image.ranges()) for (let a = r.address; a < r.address + BigInt(r.length); a += 0x1000n) pages.add(a);
    const translations: Entry['translations'] = [...pages]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((va) => {
        const pa = image.physicalAddress!(va);
        return [hex(va), pa === undefined ? null : hex(pa)];
      });
    const ph = cap.physical!;
    const stored: [number, number][] = [];
    for (let p = 0; p < ph.frameLimit; ) {
      const yes = ph.extent(p, ph.frameLimit - p, true);
      if (yes > 0) stored.push([p, yes]);
      p += yes;
      if (p < ph.frameLimit) p += Math.max(1, ph.extent(p, ph.frameLimit - p, false));
    }
    const withContent = c.space ? [...c.space.frames.keys()] : stored.flatMap(([first, n]) => (n > 4096 ? [] : Array.from({ length: n }, (_, k) => first + k)));
    const frames: [number, string][] = withContent
      .sort((a, b) => a - b)
      .filter((p) => ph.hasFrame(p))
      .map((p) => [p, sha256(ph.readFrame(p)!)]);
    const hexdump: Entry['hexdump'] = [];
    for (const t of c.trees) hexdump.push(...(await hexdumpRanges(c.files[0]!, t)));
    manifest.push({
      name: c.name,
      volatility: c.volatility,
      files: c.files,
      format: cap.format,
      dumpType: cap.dump?.info.dumpType ?? cap.dump32?.dumpType ?? null,
      variant: cap.variant,
      paging: cap.paging,
      dtb: hex(cap.dtb!.value),
      dtbSource: `${cap.dtb!.source}: ${cap.dtb!.evidence}`,
      blocks,
      translations,
      stored,
      frames,
      transition: c.transition.map(hex),
      hexdump,
    });
    const bytes = blocks.reduce((n, b) => n + b.hex.length / 2, 0);
    console.log(
      `${c.name}: ${cap.variant}, ${cap.paging} DTB ${hex(cap.dtb!.value)} (${cap.dtb!.source}); ${c.trees.length} trees decode as their regions; ${blocks.length} block ranges (${bytes} bytes), ${hexdump.length} hexdump ranges, ${translations.length} pages translated, ${frames.length} frames, ${stored.reduce((n, [, k]) => n + k, 0)} pages stored`,
    );
  } finally {
    cap.close();
  }
}
writeFileSync(join(OUT, 'manifest.json'), JSON.stringify({ pageSize: PAGE_SIZE, captures: manifest }));
console.log(`wrote ${captures.reduce((n, c) => n + c.files.length, 0)} files and manifest.json in ${OUT}`);
