// DTB discovery on 32-bit machines, ranked as the x64 scan is (src/capture/dtb.ts): every process
// of a 32-bit Windows has a table that maps itself and the whole kernel, so the System process's
// is told apart by its evidence (the kernel entries, then the fewest user entries), and a tie is
// said in the summary; junk that references itself is rejected or never a candidate. The low stub
// is x64 only (the sources give no 32-bit layout): present or absent, a PAE or non-PAE kernel is
// found by its self-map. The x86 low window (0x30000..0x1030000) is read before the rest.
import { describe, expect, it } from 'vitest';
import { ALL_DTB_STRATEGIES, NON_PAE_STRATEGY, PAE_STRATEGY, findDtb } from '../../src/capture/dtb.js';
import { PAGE_SIZE, RawPhysicalMemory } from '../../src/codec/physical.js';
import { X86PagedImage } from '../../src/capture/address-spaces/x86-paging.js';
import { decodeTree } from '../../src/tree/decode.js';
import { normalised } from '../support/dump-trees.js';
import { type X86Space, buildX86Space, regionDoc32, writeRawPhysical32, x86Regions, x86Trees } from '../support/x86-dumps.js';

const TREES = x86Trees();
const ROOT = BigInt(TREES[0]!.root);
const KUSER = { address: 0xffdf0000, bytes: Uint8Array.from([0, 0, 0, 0, 0, 0, 0xa0, 0x0f]) };
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const raw = (space: X86Space): RawPhysicalMemory => RawPhysicalMemory.fromBytes(writeRawPhysical32(space).toBytes());

function machine(paging: 'pae' | 'non-pae', options: { physicalPages?: number } = {}): X86Space {
  return buildX86Space([...x86Regions(TREES), KUSER], { paging, scatter: paging === 'pae' ? 21 : 23, selfMap: true, ...options });
}

/** Frames nothing uses, from `from` on. */
function free(space: X86Space, from: number, n: number): number[] {
  const out: number[] = [];
  for (let p = from; out.length < n; p++) if (!space.frames.has(p)) out.push(p);
  return out;
}

function newPage(space: X86Space, pfn: number, from?: Uint8Array): DataView {
  if (space.frames.has(pfn)) throw new Error(`frame ${hex(pfn)} is taken`);
  const bytes = from ? from.slice() : new Uint8Array(PAGE_SIZE);
  space.frames.set(pfn, bytes);
  return new DataView(bytes.buffer);
}

const pdpteFrames = (space: X86Space): number[] => {
  const root = new DataView(space.frames.get(Number(space.dtb >> 12n))!.buffer);
  const at = Number(space.dtb & 0xfe0n);
  return [0, 1, 2, 3].map((i) => Number((root.getBigUint64(at + i * 8, true) >> 12n) & 0xffffffn));
};

/**
 * A PAE process: its PDPT in slot `slot` of the System PDPT's page, four directories of its own at
 * `pds`; PD2 and PD3 copy the System's kernel half (`kernel: 'lazy'` leaves PD2 empty, as a
 * process whose kernel entries are not synced yet), PD0 maps `user` page tables.
 */
function paeProcess(space: X86Space, slot: number, pds: number[], options: { user: number; kernel?: 'full' | 'lazy'; userTable: number }): bigint {
  const system = pdpteFrames(space);
  const views = pds.map((pfn, i) => newPage(space, pfn, i >= 2 && !(i === 2 && options.kernel === 'lazy') ? space.frames.get(system[i]!)! : undefined));
  for (let i = 0; i < 4; i++) views[3]!.setBigUint64(i * 8, (BigInt(pds[i]!) << 12n) | 0x63n, true);
  for (let i = 0; i < options.user; i++) views[0]!.setBigUint64(i * 8, (BigInt(options.userTable) << 12n) | 0x67n, true);
  const rootPage = new DataView(space.frames.get(Number(space.dtb >> 12n))!.buffer);
  for (let i = 0; i < 4; i++) rootPage.setBigUint64(slot + i * 8, (BigInt(pds[i]!) << 12n) | 1n, true);
  return (space.dtb & ~0xfffn) + BigInt(slot);
}

/** A non-PAE process's directory at `pfn`: the System's kernel half (all of it, or none but the self-map), `user` user entries. */
function nonPaeProcess(space: X86Space, pfn: number, options: { user: number; kernel?: 'full' | 'lazy'; userTable: number }): bigint {
  const system = space.frames.get(Number(space.dtb >> 12n))!;
  const pd = newPage(space, pfn);
  if (options.kernel !== 'lazy') new Uint8Array(pd.buffer).set(system.subarray(0x800), 0x800);
  else pd.setUint32(0x3ff * 4, new DataView(system.buffer).getUint32(0x3ff * 4, true), true); // KUSER_SHARED_DATA's table only
  pd.setUint32(0x300 * 4, pfn * PAGE_SIZE + 0x63, true);
  for (let i = 0; i < options.user; i++) pd.setUint32(i * 4, options.userTable * PAGE_SIZE + 0x67, true);
  return BigInt(pfn * PAGE_SIZE);
}

/** An x64 PROCESSOR_START_BLOCK in the low page `pfn` naming `cr3`. */
function lowStub(space: X86Space, pfn: number, cr3: bigint): void {
  const v = newPage(space, pfn);
  v.setBigUint64(0x00, 0x00000001000633e9n, true); // jmp +0x33, CompletionFlag 1
  v.setBigUint64(0x70, 0xfffff8034a1b2c40n, true); // LmTarget
  v.setBigUint64(0xa0, cr3, true);
}

describe('PAE: the System PDPT among processes', () => {
  const space = machine('pae');
  const system = space.dtb & ~0x1fn;
  const [userTable, ...f] = free(space, 0x30, 13) as [number, ...number[]];
  newPage(space, userTable);
  // Processes' PDPTs share the System's page, at lower slots: a scan taking a page's first valid slot takes one of them.
  const busy = paeProcess(space, 0x20, f.slice(0, 4), { user: 12, userTable });
  const lazy = paeProcess(space, 0x40, f.slice(4, 8), { user: 0, kernel: 'lazy', userTable });
  // A PDPT-shaped slot whose PDPTE 3 leads to no self-map is not a candidate.
  const shaped = new DataView(space.frames.get(Number(space.dtb >> 12n))!.buffer);
  for (let i = 0; i < 4; i++) shaped.setBigUint64(0x60 + i * 8, (BigInt(f[8 + i]!) << 12n) | 1n, true);
  const physical = raw(space);

  it('takes the System PDPT, whose user half is empty, over a process that maps the kernel alike, and says why', () => {
    for (const root of [undefined, ROOT]) {
      const found = findDtb(physical, { strategies: [PAE_STRATEGY], ...(root === undefined ? {} : { root }) });
      expect(found.dtb).toBe(system);
      expect([found.paging, found.method, found.ties]).toEqual(['pae', 'self-map', 0]);
      expect(found.evidence).toMatchObject({ selfMapIndex: 3, userEntries: 0, kuserSharedData: true, rootBlock: root === undefined ? undefined : true, rejected: undefined });
      const other = found.candidates.find((c) => c.dtb === busy)!;
      expect(other.evidence).toMatchObject({ kernelEntries: found.evidence.kernelEntries, userEntries: 12, kuserSharedData: true, rejected: undefined });
      expect(found.summary).toBe(
        `DTB ${hex(system)} (pae, PDPT scan in the page at ${hex(system & ~0xfffn)}: PD3 self-map index 0x3, ${found.evidence.kernelEntries} kernel entries, KUSER_SHARED_DATA mapped${root === undefined ? '' : ', root block read'}); chosen over ${hex(busy)}, which maps the kernel alike, for its fewer user entries (0 against 12)`,
      );
    }
  });

  it('ranks a process whose kernel half is not synced below, and never takes a slot with no self-map behind it', () => {
    const found = findDtb(physical, { strategies: [PAE_STRATEGY] });
    const ranked = found.candidates.map((c) => c.dtb);
    expect(ranked).toEqual([system, busy, lazy]);
    expect(found.candidates[2]!.evidence.kernelEntries).toBeLessThan(found.evidence.kernelEntries);
    expect(ranked).not.toContain((space.dtb & ~0xfffn) + 0x60n);
    // The tree reads through the PDPT found as it does from its own region.
    const doc = decodeTree(new X86PagedImage(physical, found.dtb, { paging: 'pae' }), ROOT, TREES[0]!.options);
    expect(normalised(doc)).toEqual(normalised(regionDoc32(TREES[0]!)));
  });

  it('a junk page that maps itself at PD3[3] but not KUSER_SHARED_DATA is examined and rejected', () => {
    const junkSpace = machine('pae');
    const [pdpt, a, b, c, d] = free(junkSpace, 0x30, 5) as [number, number, number, number, number];
    const p = newPage(junkSpace, pdpt);
    const pd3 = newPage(junkSpace, d);
    [a, b, c, d].forEach((pfn, i) => {
      p.setBigUint64(i * 8, (BigInt(pfn) << 12n) | 1n, true);
      pd3.setBigUint64(i * 8, (BigInt(pfn) << 12n) | 0x63n, true);
    });
    const found = findDtb(raw(junkSpace), { strategies: [PAE_STRATEGY] });
    expect(found.dtb).toBe(junkSpace.dtb & ~0x1fn);
    const junk = found.candidates.find((x) => x.dtb === BigInt(pdpt * PAGE_SIZE))!;
    expect(junk.evidence.rejected).toMatch(/^KUSER_SHARED_DATA \(0xffdf0000\) is not readable: /);
  });

  it('two PDPTs with the same directories tie: the lowest address is taken, and the summary says so', () => {
    const tie = machine('pae');
    const page = new DataView(tie.frames.get(Number(tie.dtb >> 12n))!.buffer);
    const at = Number(tie.dtb & 0xfe0n);
    for (let i = 0; i < 4; i++) page.setBigUint64(0xfe0 + i * 8, page.getBigUint64(at + i * 8, true), true);
    const found = findDtb(raw(tie), { strategies: [PAE_STRATEGY] });
    expect([found.dtb, found.ties]).toEqual([tie.dtb & ~0x1fn, 1]);
    expect(found.summary).toMatch(/KUSER_SHARED_DATA mapped\); 1 other confirmed candidate with the same evidence: the lowest address taken$/);
  });
});

describe('non-PAE: the System page directory among processes', () => {
  const space = machine('non-pae');
  const system = space.dtb & ~0xfffn;
  const [userTable, busyPfn, lazyPfn, twice] = free(space, 0x30, 4) as [number, number, number, number];
  newPage(space, userTable);
  const busy = nonPaeProcess(space, busyPfn, { user: 9, userTable });
  const lazy = nonPaeProcess(space, lazyPfn, { user: 0, kernel: 'lazy', userTable });
  // A directory that references itself twice is not a Windows one.
  const two = nonPaeProcess(space, twice, { user: 0, userTable });
  new DataView(space.frames.get(twice)!.buffer).setUint32(0x301 * 4, twice * PAGE_SIZE + 0x63, true);
  const physical = raw(space);

  it('takes the System directory over a process at a lower address that maps the kernel alike', () => {
    expect(busy).toBeLessThan(system);
    const found = findDtb(physical, { strategies: [NON_PAE_STRATEGY], root: ROOT });
    expect(found.dtb).toBe(system);
    expect(found.evidence).toMatchObject({ selfMapIndex: 0x300, userEntries: 0, kuserSharedData: true, rootBlock: true });
    expect(found.candidates.map((c) => c.dtb)).toEqual([system, busy, lazy]);
    expect(found.candidates[2]!.evidence.rejected).toMatch(/^no block at the root /);
    expect(found.candidates.map((c) => c.dtb)).not.toContain(two);
    expect(found.summary).toMatch(new RegExp(`; chosen over ${hex(busy)}, which maps the kernel alike, for its fewer user entries \\(0 against 9\\)$`));
  });

  it('without a root, the process whose kernel half is not synced confirms but ranks below', () => {
    const found = findDtb(physical, { strategies: [NON_PAE_STRATEGY] });
    expect(found.dtb).toBe(system);
    const l = found.candidates.find((c) => c.dtb === lazy)!;
    expect(l.evidence).toMatchObject({ kuserSharedData: true, rejected: undefined, kernelEntries: 1, userEntries: 0 });
  });
});

describe('the low stub on 32-bit machines (x64 only: a 32-bit kernel is found by its self-map)', () => {
  for (const paging of ['pae', 'non-pae'] as const) {
    const table = (s: X86Space): bigint => s.dtb & (paging === 'pae' ? ~0x1fn : ~0xfffn);

    it(`${paging}, no stub: every strategy gives the self-map, and none reads as a stub`, () => {
      const space = machine(paging);
      const found = findDtb(raw(space), { strategies: ALL_DTB_STRATEGIES });
      expect([found.dtb, found.paging, found.method]).toEqual([table(space), paging, 'self-map']);
      expect(found.candidates.some((c) => c.method === 'low-stub')).toBe(false);
    });

    it(`${paging}, a stub naming the 32-bit table: read as x64, rejected, and the self-map is taken`, () => {
      const space = machine(paging);
      const [stubPfn] = free(space, 0x10, 1) as [number];
      lowStub(space, stubPfn, space.dtb & ~0xfffn);
      const found = findDtb(raw(space), { strategies: ALL_DTB_STRATEGIES });
      expect([found.dtb, found.paging, found.method]).toEqual([table(space), paging, 'self-map']);
      const stub = found.candidates.find((c) => c.method === 'low-stub')!;
      expect([stub.dtb, stub.paging, stub.foundAt]).toEqual([space.dtb & ~0xfffn, 'x64', BigInt(stubPfn * PAGE_SIZE)]);
      expect(stub.evidence.rejected).toMatch(/^KUSER_SHARED_DATA \(0xfffff78000000000\) /);
    });

    it(`${paging}, searched as 32-bit only: the stub's window is not read for a stub`, () => {
      const space = machine(paging);
      const [stubPfn] = free(space, 0x10, 1) as [number];
      lowStub(space, stubPfn, space.dtb & ~0xfffn);
      const found = findDtb(raw(space), { strategies: [PAE_STRATEGY, NON_PAE_STRATEGY] });
      expect([found.dtb, found.method]).toEqual([table(space), 'self-map']);
      expect(found.candidates.some((c) => c.method === 'low-stub')).toBe(false);
      // The x86 window's frames were read, once: no pass over the stub's window (0x1000..0x100000) before it.
      expect(found.framesScanned).toBe(Math.min(space.physicalPages, 0x1030) - 0x30);
    });
  }
});

describe('the x86 scan is bounded: its low window first, then the rest with progress', () => {
  /** The machine with its top-level table moved to frame `pfn` (nothing points at a PDPT; a directory's self-map follows it). */
  function moved(paging: 'pae' | 'non-pae', pfn: number, physicalPages: number): X86Space {
    const s = machine(paging, { physicalPages });
    const old = Number(s.dtb >> 12n);
    const bytes = s.frames.get(old)!;
    s.frames.delete(old);
    s.frames.set(pfn, bytes);
    if (paging === 'non-pae') new DataView(bytes.buffer).setUint32(0x300 * 4, pfn * PAGE_SIZE + 0x63, true);
    return { ...s, dtb: BigInt(pfn * PAGE_SIZE) + (s.dtb & 0xfffn) };
  }

  for (const paging of ['pae', 'non-pae'] as const) {
    it(`${paging}: a table at 0x1000000 (outside the x64 windows) is found in the x86 window, with no progress and nothing past the window read`, () => {
      const space = moved(paging, 0x1000, 0x1200);
      const seen: number[] = [];
      const found = findDtb(raw(space), { strategies: [PAE_STRATEGY, NON_PAE_STRATEGY], progress: (d) => seen.push(d) });
      expect(found.dtb).toBe(space.dtb & (paging === 'pae' ? ~0x1fn : ~0xfffn));
      expect(seen).toEqual([]);
      // The window 0x30000..0x1030000, every frame of it stored, and not a frame more.
      expect(found.framesScanned).toBe(0x1030 - 0x30);
    });

    it(`${paging}: a table past the window is found by the chunked scan, which reports its progress`, () => {
      const space = moved(paging, 0x4100, 0x4400);
      const seen: [number, number][] = [];
      const found = findDtb(raw(space), { strategies: [PAE_STRATEGY, NON_PAE_STRATEGY], progress: (d, t) => seen.push([d, t]) });
      expect(found.dtb).toBe(space.dtb & (paging === 'pae' ? ~0x1fn : ~0xfffn));
      expect(seen).toEqual([[64 << 20, 0x4400 * PAGE_SIZE]]);
    });
  }
});

describe('hostile: pages full of PDPT-shaped slots', () => {
  it('a 16 MiB image whose every slot looks like a PDPT (and none has a self-mapping PD3 behind it) ends with the usual error, in bounded time', () => {
    const pages = 0x1000;
    const bytes = new Uint8Array(pages * PAGE_SIZE);
    const v = new DataView(bytes.buffer);
    // Slot s of page p points to four distinct frames inside memory; none of them is a PD3 that maps itself.
    for (let p = 0; p < pages; p++) for (let s = 0; s < 128; s++) for (let i = 0; i < 4; i++) v.setUint32(p * PAGE_SIZE + s * 32 + i * 8, (((p + s * 4 + i + 1) % pages) * PAGE_SIZE + 1) >>> 0, true);
    const physical = RawPhysicalMemory.fromBytes(bytes);
    const t = performance.now();
    expect(() => findDtb(physical, { strategies: [PAE_STRATEGY] })).toThrow(/no kernel DirectoryTableBase found .*no page of it is a top-level page table that maps itself; give it with --dtb$/);
    expect(performance.now() - t).toBeLessThan(10_000);
  });
});
