// DTB discovery for 32-bit machines (src/capture/dtb.ts PAE_STRATEGY, NON_PAE_STRATEGY): a raw
// image's PAE PDPT (32-byte aligned, mid-page) or non-PAE self-mapping page directory is found and
// confirmed by KUSER_SHARED_DATA at 0xffdf0000 and by the root; decoys that look the same but map
// nothing are rejected, and an x64 image searched with every strategy still gives its PML4.
import { describe, expect, it } from 'vitest';
import { ALL_DTB_STRATEGIES, NON_PAE_STRATEGY, PAE_STRATEGY, findDtb } from '../../src/capture/dtb.js';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PAGE_SIZE, RawPhysicalMemory } from '../../src/codec/physical.js';
import { kernelSpace } from '../support/dtb-images.js';
import { standardTrees } from '../support/dump-trees.js';
import { type X86Space, buildX86Space, writeRawPhysical32, x86Regions, x86Trees } from '../support/x86-dumps.js';

const TREES = x86Trees();
const KUSER = { address: 0xffdf0000, bytes: Uint8Array.from([0, 0, 0, 0, 0, 0, 0xa0, 0x0f]) };
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

function freeFrames(space: X86Space, from: number, n: number): number[] {
  const out: number[] = [];
  for (let p = from; out.length < n; p++) if (!space.frames.has(p)) out.push(p);
  return out;
}

describe('PAE', () => {
  const space = buildX86Space([...x86Regions(TREES), KUSER], { paging: 'pae', scatter: 21, selfMap: true });
  // A decoy PDPT in the low window: four present entries to four empty frames (maps nothing).
  const [decoyPage, ...empty] = freeFrames(space, 0x150, 5) as [number, ...number[]];
  const decoy = new Uint8Array(PAGE_SIZE);
  empty.forEach((pfn, i) => new DataView(decoy.buffer).setUint32(0x40 + i * 8, pfn * PAGE_SIZE + 1, true));
  space.frames.set(decoyPage, decoy);
  const physical = RawPhysicalMemory.fromBytes(writeRawPhysical32(space).toBytes());
  const dtb = space.dtb & ~0x1fn;

  it('finds the PDPT mid-page, passing over the decoy that maps nothing', () => {
    const found = findDtb(physical, { strategies: [PAE_STRATEGY], root: BigInt(TREES[0]!.root) });
    expect(found.dtb).toBe(dtb);
    expect(Number(dtb) % PAGE_SIZE).not.toBe(0);
    expect([found.paging, found.abi.name, found.method]).toEqual(['pae', 'x86', 'self-map']);
    expect(found.evidence).toMatchObject({ kuserSharedData: true, rootBlock: true, rejected: undefined });
    // Its PDPTE 3 leads to no PD3 that maps itself: not even a candidate.
    expect(found.candidates.map((c) => c.dtb)).not.toContain(BigInt(decoyPage * PAGE_SIZE + 0x40));
    expect(found.summary).toBe(`DTB ${hex(dtb)} (pae, PDPT scan in the page at ${hex(dtb & ~0xfffn)}: PD3 self-map index 0x3, ${found.evidence.kernelEntries} kernel entries, KUSER_SHARED_DATA mapped, root block read)`);
  });

  it('no PDPT at all: the search says so', () => {
    const blank = RawPhysicalMemory.fromBytes(new Uint8Array(0x300000));
    expect(() => findDtb(blank, { strategies: [PAE_STRATEGY] })).toThrow(/no kernel DirectoryTableBase found .*no page of it is a top-level page table that maps itself/);
  });
});

describe('non-PAE', () => {
  const space = buildX86Space([...x86Regions(TREES), KUSER], { paging: 'non-pae', scatter: 23, selfMap: true });
  // A junk page directory in the low window that maps itself at 0x300 and nothing else.
  const [junk] = freeFrames(space, 0x150, 1) as [number];
  const page = new Uint8Array(PAGE_SIZE);
  new DataView(page.buffer).setUint32(0x300 * 4, junk * PAGE_SIZE + 0x63, true);
  space.frames.set(junk, page);
  const physical = RawPhysicalMemory.fromBytes(writeRawPhysical32(space).toBytes());

  it('finds the self-mapping page directory, passing over the one that maps nothing else', () => {
    const found = findDtb(physical, { strategies: [NON_PAE_STRATEGY] });
    expect(found.dtb).toBe(space.dtb & ~0xfffn);
    expect([found.paging, found.abi.name]).toEqual(['non-pae', 'x86']);
    expect(found.evidence).toMatchObject({ selfMapIndex: 0x300, kuserSharedData: true, rejected: undefined });
    expect(found.evidence.kernelEntries).toBeGreaterThan(0);
    const rejected = found.candidates.find((c) => c.dtb === BigInt(junk * PAGE_SIZE));
    expect(rejected?.evidence.rejected).toMatch(/^KUSER_SHARED_DATA \(0xffdf0000\) /);
  });

  it('every strategy at once gives the same answer', () => {
    expect(findDtb(physical, { strategies: ALL_DTB_STRATEGIES }).dtb).toBe(space.dtb & ~0xfffn);
  });
});

it('an x64 image searched with every strategy still gives its PML4', () => {
  const space = kernelSpace(0x1c4, {}, standardTrees());
  const found = findDtb(RawPhysicalMemory.fromBytes(writeRawPhysical(space).toBytes()), { strategies: ALL_DTB_STRATEGIES });
  expect([found.dtb, found.paging]).toEqual([BigInt(0x1c4 * PAGE_SIZE), 'x64']);
});
