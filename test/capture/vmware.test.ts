// VMware captures written from the fixture trees' address space (frames scattered, blocks
// straddling pages, a 2 MiB page, a transition PTE): a .vmem with its .vmss/.vmsn, regions
// scattered or one to one, several CPUs, CR64 as blocks or values, version 0 sizes, the memory
// inside the state file. Read through `new PagedImage(capture, cpus[i].dtb)`, each tree decodes to
// exactly the document the plain region gives.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, PAGE_SIZE } from '../../src/codec/physical.js';
import { type CaptureMemory, isVmwareState, openFileReader, openVmware, vmwareMemoryFileFor, vmwareStateFileFor } from '../../src/capture/index.js';
import { CaptureError } from '../../src/errors.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { CR4_X64, rangesOf } from '../support/capture-writers.js';
import { type PlacedTree, normalised, standardSpace, standardTrees, writeCaptures } from '../support/dump-trees.js';
import { errorOf } from '../support/errors.js';
import { type VmwareOptions, writeVmware } from '../support/vmware-writers.js';

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const DIR = writeCaptures(SPACE, 'ndis-vmware-').dir;
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const DTB = SPACE.dtb & ~0xfffn;
const CR3S = [DTB | 0x5n, DTB | 0x6n, DTB + 0x1000n, DTB | 0x7n]; // PCIDs on top; CPU 2 on another table
const regionDoc = (t: PlacedTree): TreeDocument => decodeTree(SegmentImage.region(t.bytes, t.root), t.root, t.options);

function open(o: VmwareOptions = {}): CaptureMemory {
  const w = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames', ...o });
  return openVmware(new BufferSource(w.state.toBytes(), 'guest.vmss'), w.vmem && new BufferSource(w.vmem.toBytes(), 'guest.vmem'));
}

interface Variant {
  name: string;
  options: VmwareOptions;
  variant: string;
}
const VARIANTS: Variant[] = [
  { name: 'frames as regions', options: {}, variant: 'VMware checkpoint version 2' },
  { name: 'RAM runs as regions', options: { ranges: 'runs' }, variant: 'VMware checkpoint version 2' },
  { name: 'regions reversed in the .vmem and the tags', options: { reverse: true }, variant: 'VMware checkpoint version 2' },
  { name: 'no regions (one to one)', options: { oneToOne: true, ranges: 'runs' }, variant: 'VMware checkpoint version 2' },
  { name: 'version 0 (32-bit block sizes), CR64 as values', options: { magic: 0xbed0bed0, crForm: 'values' }, variant: 'VMware checkpoint version 0' },
  { name: 'restored (0xbad1bad1), no padding', options: { magic: 0xbad1bad1, pad: 0 }, variant: 'VMware checkpoint version 1' },
  { name: 'memory in the state file', options: { embedded: true }, variant: 'VMware checkpoint version 2 (memory in the state file)' },
];

describe('trees read through VMware captures', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: every tree decodes to the region's document through new PagedImage(capture, cpus[0].dtb)`, () => {
      const c = open(v.options);
      expect([c.format, c.variant, c.machine]).toEqual(['vmware', v.variant, undefined]);
      expect(c.cpus.map((x) => x.index)).toEqual([0, 1, 2, 3]);
      const image = new PagedImage(c, c.cpus[0]!.dtb);
      for (const t of TREES) {
        const want = regionDoc(t);
        expect(want.blocks.length).toBeGreaterThan(0);
        expect(normalised(decodeTree(image, t.root, t.options))).toEqual(normalised(want));
      }
      // Every stored frame holds what the space put there.
      for (const [pfn, bytes] of SPACE.frames) expect(c.readFrame(pfn), `PFN ${pfn}`).toEqual(bytes);
      c.close();
    });
  }

  it('from files: the .vmem and the .vmss found beside it by name, opened read-only, metadata only', () => {
    const w = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames' });
    const vmem = join(DIR, 'Windows 7-Snapshot3.vmem');
    const vmsn = join(DIR, 'Windows 7-Snapshot3.vmsn');
    w.vmem!.toFile(vmem);
    w.state.toFile(vmsn);
    const exists = (p: string): boolean => {
      try {
        readFileSync(p, { flag: 'r' }).subarray(0, 0);
        return true;
      } catch {
        return false;
      }
    };
    const [state] = vmwareStateFileFor(vmem, exists);
    expect(state).toBe(vmsn);
    expect(vmwareMemoryFileFor(vmsn, exists)).toBe(vmem);
    const stateReader = openFileReader(state!);
    expect(isVmwareState(readFileSync(state!).subarray(0, 4))).toBe(true);
    const memReader = openFileReader(vmem);
    const c = openVmware(stateReader, memReader);
    expect(stateReader.reads).toBeLessThanOrEqual(4); // the header, the group table, a window per group read
    expect(memReader.bytesRead).toBe(0);
    const image = new PagedImage(c, c.cpus[1]!.dtb);
    for (const t of TREES) expect(normalised(decodeTree(image, t.root, t.options))).toEqual(normalised(regionDoc(t)));
    expect(c.describe()).toMatch(/^VMware checkpoint version 2 .*Windows 7-Snapshot3\.vmem \(\d+ physical ranges, 0x[0-9a-f]+ bytes\)$/);
    c.close();
  });

  it('the regions are the physical ranges, each at its page in the .vmem, sorted', () => {
    const ranges = rangesOf(SPACE, 'frames');
    const c = open({ reverse: true });
    let page = ranges.reduce((n, r) => n + r.length / PAGE_SIZE, 0);
    const want = ranges.map((r) => {
      page -= r.length / PAGE_SIZE;
      return { physical: r.physical, fileOffset: page * PAGE_SIZE, length: r.length };
    });
    expect(c.ranges).toEqual(want);
    expect(c.ranges.length).toBeGreaterThan(20);
    expect(c.warnings).toEqual([]);
    expect(c.missingReason(0x9f)).toBe('PFN 0x9f not stored (outside every physical range of the VMware checkpoint version 2)');
    const flat = open({ oneToOne: true, ranges: 'runs' });
    const top = SPACE.physicalPages * PAGE_SIZE;
    expect([flat.ranges, flat.warnings]).toEqual([[{ physical: 0, fileOffset: 0, length: top }], []]);
  });

  it('regions whose indices do not follow physical order are read sorted, with a warning', () => {
    const w = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames' });
    const b = w.state.toBytes();
    const v = new DataView(b.buffer);
    // Swap what regions 0 and 1 say (their tags have the same layout).
    for (const name of ['regionPPN', 'regionPageNum', 'regionSize']) {
      const a = w.tags.get(`memory/${name}[0]`)!.data;
      const z = w.tags.get(`memory/${name}[1]`)!.data;
      const x = v.getUint32(a, true);
      v.setUint32(a, v.getUint32(z, true), true);
      v.setUint32(z, x, true);
    }
    const c = openVmware(new BufferSource(b, 'guest.vmss'), new BufferSource(w.vmem!.toBytes(), 'guest.vmem'));
    expect(c.warnings).toEqual(['the regions are not in physical address order (read in sorted order)']);
    expect(c.ranges).toEqual(open().ranges);
    for (const [pfn, bytes] of SPACE.frames) expect(c.readFrame(pfn), `PFN ${pfn}`).toEqual(bytes);
  });

  it("each CPU's CR3 from its CR64 (block or values), masked by its CR4, with the state file offset of the field", () => {
    for (const crForm of ['block', 'values'] as const) {
      const w = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames', crForm });
      const bytes = w.state.toBytes();
      const c = openVmware(new BufferSource(bytes, 'guest.vmss'), new BufferSource(w.vmem!.toBytes(), 'guest.vmem'));
      expect(c.cpus.map((x) => [x.index, x.cr3, x.dtb, x.cr4])).toEqual(CR3S.map((cr3, i) => [i, cr3, cr3 & ~0xfffn, CR4_X64]));
      expect(c.cpus[0]!.masked).toBe('bits 51:12 (CR4.PCIDE: bits 11:0 are the PCID)');
      const view = new DataView(bytes.buffer);
      for (const x of c.cpus) expect(view.getBigUint64(x.fileOffset, true), crForm).toBe(x.cr3);
      expect(c.warnings).toEqual([]);
    }
    const pae = open({ cr3: [0x12345678n | 0x18n], cr4: 1n << 5n }).cpus[0]!;
    expect([pae.dtb, pae.masked]).toEqual([0x12345660n, 'bits 51:5 (CR4.PAE: a 32-byte aligned PDPT, or PML4 with bits 4:3 as flags)']);
    expect(open({ cr4: CR4_X64 | (1n << 12n), cr3: [DTB] }).warnings).toEqual(['CPU 0 has CR4.LA57 set: 5-level paging, which is rare and not read here']);
    expect(open({ numVCPUs: 8 }).warnings).toEqual(["cpu:numVCPUs is 8, but 4 CPUs' CR3s were read"]);
  });

  it('the state file names the memory: a Memory block is read only when no .vmem is given', () => {
    const w = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames', embedded: true });
    const e = errorOf(() => openVmware(new BufferSource(writeVmware(SPACE, { ranges: 'frames' }).state.toBytes(), 'guest.vmss'), undefined));
    expect(e).toBeInstanceOf(CaptureError);
    expect((e as Error).message).toBe(`VMware @0x${(12 + 2 * 80).toString(16)}: guest.vmss's memory group holds no Memory block: the RAM is in the .vmem beside it; give both`);
    const both = openVmware(new BufferSource(w.state.toBytes(), 'old.vmsn'), new BufferSource(writeVmware(SPACE, { cr3: CR3S, ranges: 'frames' }).vmem!.toBytes(), 'old.vmem'));
    expect(both.warnings).toEqual([`the state file also holds a Memory block (at ${'0x' + w.tags.get('memory/Memory')!.data.toString(16)}): old.vmem is read instead`]);
    expect(both.ranges).toEqual(open().ranges);
    const c = openVmware(new BufferSource(w.state.toBytes(), 'old.vmsn'), undefined);
    expect(c.ranges[0]!.fileOffset % PAGE_SIZE).toBe(0);
    expect(c.describe()).toMatch(/^VMware checkpoint version 2 \(memory in the state file\) old\.vmsn/);
  });
});

describe('openVmware and its readers', () => {
  /** A plain Reader (not a counted ByteSource) over bytes, counting close() calls. */
  const plain = (bytes: Uint8Array, name: string) => {
    const r = { name, size: bytes.length, closed: 0, read: (into: Uint8Array, at: number) => new BufferSource(bytes, name).read(into, at), close: () => void r.closed++ };
    return r;
  };

  it('reads the state file while opening and closes it; close() closes the .vmem', () => {
    const w = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames' });
    const state = plain(w.state.toBytes(), 'guest.vmss');
    const vmem = plain(w.vmem!.toBytes(), 'guest.vmem');
    const c = openVmware(state, vmem);
    expect([state.closed, vmem.closed]).toEqual([1, 0]);
    expect(normalised(decodeTree(new PagedImage(c, c.cpus[3]!.dtb), TREES[0]!.root, TREES[0]!.options))).toEqual(normalised(regionDoc(TREES[0]!)));
    c.close();
    expect([state.closed, vmem.closed]).toEqual([1, 1]);
    // A state file that lies is closed too; the .vmem stays the caller's.
    const bad = w.state.toBytes();
    bad[8] = 0xff;
    const badState = plain(bad, 'bad.vmss');
    const vmem2 = plain(w.vmem!.toBytes(), 'guest.vmem');
    expect(errorOf(() => openVmware(badState, vmem2))).toBeInstanceOf(CaptureError);
    expect([badState.closed, vmem2.closed]).toEqual([1, 0]);
    // With the memory in the state file, the state file is the capture's, closed by close().
    const e = writeVmware(SPACE, { cr3: CR3S, ranges: 'frames', embedded: true });
    const own = plain(e.state.toBytes(), 'old.vmsn');
    const d = openVmware(own, undefined);
    expect(own.closed).toBe(0);
    d.close();
    expect(own.closed).toBe(1);
  });
});

describe('vmwareStateFileFor: the state file beside a .vmem, by name (pure)', () => {
  const has = (...paths: string[]) => (p: string): boolean => paths.includes(p);
  it('gives the .vmss, then the .vmsn, of those that exist', () => {
    expect(vmwareStateFileFor('/vm/guest.vmem', has('/vm/guest.vmss', '/vm/guest.vmsn'))).toEqual(['/vm/guest.vmss', '/vm/guest.vmsn']);
    expect(vmwareStateFileFor('/vm/guest.vmem', has('/vm/guest.vmsn'))).toEqual(['/vm/guest.vmsn']);
    expect(vmwareStateFileFor('/vm/guest.vmem', has())).toEqual([]);
    expect(vmwareStateFileFor('C:\\VMs\\XP\\XP-Snapshot1.VMEM', has('C:\\VMs\\XP\\XP-Snapshot1.VMSN'))).toEqual(['C:\\VMs\\XP\\XP-Snapshot1.VMSN']);
    expect(vmwareStateFileFor('/vm/guest.raw', () => true)).toEqual([]);
    expect(vmwareStateFileFor('/vm/guest.vmem.bak', () => true)).toEqual([]);
    expect(vmwareMemoryFileFor('/vm/guest.vmss', has('/vm/guest.vmem'))).toBe('/vm/guest.vmem');
    expect(vmwareMemoryFileFor('/vm/guest.vmss', has())).toBeUndefined();
    expect(vmwareMemoryFileFor('/vm/guest.vmdk', () => true)).toBeUndefined();
  });

  it('recognises the state file from its magic, and nothing else', () => {
    for (const m of [0xbed2bed2, 0xbed3bed3, 0xbad1bad1, 0xbad2bad2, 0xbed0bed0, 0xbed2bed0]) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, m, true);
      expect(isVmwareState(b), m.toString(16)).toBe(true);
    }
    expect(isVmwareState(new Uint8Array([0xd2, 0xbe, 0xd2]))).toBe(false);
    expect(isVmwareState(new Uint8Array([0x45, 0x4d, 0x69, 0x4c]))).toBe(false);
    expect(isVmwareState(readFileSync(join(DIR, 'full.dmp')).subarray(0, 16))).toBe(false);
  });
});
