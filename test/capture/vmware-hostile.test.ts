// Hostile VMware state files: every lie (group counts and sizes past the end of the file, tags
// whose names, values or blocks overrun their group, a group with no end tag, region counts past
// the tags or past any VM, regions past the end of the .vmem or overlapping, repeated tags, CPU
// indices past any VM, a file cut anywhere) is a CaptureError naming the state file offset of the
// field at fault: never a hang, another exception, or a read sized by the lie.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAddressSpace } from '../../src/codec/dump-builder.js';
import { BufferSource, PAGE_SIZE } from '../../src/codec/physical.js';
import { type CaptureMemory, VMWARE_MAX_CPUS, VMWARE_MAX_GROUPS, VMWARE_MAX_REGIONS, openVmware } from '../../src/capture/index.js';
import { CaptureError } from '../../src/errors.js';
import { fcParams } from '../support/arbitraries.js';
import { placeTree } from '../support/dump-trees.js';
import { errorOf } from '../support/errors.js';
import { type VmwareOptions, writeVmware } from '../support/vmware-writers.js';

const tree = placeTree('sample-x64');
const SPACE = buildAddressSpace([{ address: tree.root, bytes: tree.bytes }], { scatter: 3 });
const CR3S = [SPACE.dtb, SPACE.dtb];

function written(o: VmwareOptions = {}) {
  const w = writeVmware(SPACE, { ranges: 'frames', cr3: CR3S, ...o });
  return { ...w, stateBytes: w.state.toBytes(), vmemBytes: w.vmem?.toBytes() };
}
const W = written();
const hex = (n: number): string => `0x${n.toString(16)}`;
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const tag = (key: string): { at: number; data: number } => W.tags.get(key) ?? expect.unreachable(`no tag ${key}`);
const group = (name: string): { entry: number; tags: number; end: number } => W.groups.get(name) ?? expect.unreachable(`no group ${name}`);

const open = (state: Uint8Array, vmem: Uint8Array | undefined): CaptureMemory =>
  openVmware(new BufferSource(state, 'guest.vmss'), vmem && new BufferSource(vmem, 'guest.vmem'));

/** The CaptureError opening the patched state file gives (any other outcome fails the test). */
function lie(patch: (v: DataView, b: Uint8Array) => void, vmem: Uint8Array | undefined = W.vmemBytes): CaptureError {
  const b = W.stateBytes.slice();
  patch(dv(b), b);
  const e = errorOf(() => open(b, vmem));
  expect(e).toBeInstanceOf(CaptureError);
  return e as CaptureError;
}

describe('VMware state files: each lie is a CaptureError at the field', () => {
  it('the group table: a count past the file or past any state file, offsets and sizes past the end', () => {
    const size = W.stateBytes.length;
    const past = lie((v) => v.setUint32(8, 1000, true));
    expect([past.fileOffset, past.message]).toEqual([8, `VMware @0x8: 1000 groups of 80 bytes from 0xc run past the end of the state file (${hex(size)} bytes)`]);
    const huge = lie((v) => v.setUint32(8, 0xffffffff, true));
    expect(huge.message).toBe(`VMware @0x8: 4294967295 groups: more than the ${VMWARE_MAX_GROUPS} any state file has`);
    const m = group('memory');
    const offset = lie((v) => v.setBigUint64(m.entry + 64, BigInt(size + 1), true));
    expect([offset.fileOffset, offset.message]).toEqual([m.entry + 64, `VMware @${hex(m.entry + 64)}: group "memory"'s tags offset ${hex(size + 1)} is past the end of the state file (${hex(size)} bytes)`]);
    const long = lie((v) => v.setBigUint64(m.entry + 72, 2n ** 63n, true));
    expect([long.fileOffset, long.message]).toEqual([m.entry + 72, `VMware @${hex(m.entry + 72)}: group "memory" of 0x8000000000000000 bytes from ${hex(m.tags)} runs past the end of the state file (${hex(size)} bytes)`]);
    const none = lie((_, b) => b.set([0x78], m.entry + 5)); // "memorx"
    expect(none.message).toBe('VMware @0x8: guest.vmss has no "memory" group: not a state file of a VM with memory');
    const twice = lie((_, b) => b.set(b.subarray(group('cpu').entry, group('cpu').entry + 64), group('Snapshot').entry));
    expect(twice.message).toBe(`VMware @${hex(group('Snapshot').entry)}: a second group "cpu" (the first is at ${hex(group('cpu').entry)})`);
    const magic = lie((v) => v.setUint32(0, 0xbed2bed1, true));
    expect(magic.message).toBe('VMware @0x0: guest.vmss: magic 0xbed2bed1 is not a VMware state file\'s (0xbed2bed2, 0xbed3bed3, 0xbad1bad1, 0xbad2bad2, 0xbed0bed0, 0xbed2bed0)');
  });

  it('tags whose name, value or block overrun their group, and a group with no end tag', () => {
    const m = group('memory');
    const last = tag('memory/memUnsync');
    const name = lie((_, b) => (b[last.at + 1] = 200));
    expect([name.fileOffset, name.message]).toEqual([last.at, `VMware @${hex(last.at)}: a tag's name (200 bytes) and 0 indices overrun group "memory" (${hex(m.end - last.at)} bytes left)`]);
    const value = lie((_, b) => (b[last.at] = 8));
    expect([value.fileOffset, value.message]).toEqual([last.at, `VMware @${hex(last.at)}: tag "memUnsync"'s 8-byte value overruns group "memory", which ends at ${hex(m.end)}`]);
    const cr = tag('cpu/CR64[0]');
    const sizeField = cr.at + 2 + 4 + 4;
    const block = lie((v) => v.setBigUint64(sizeField, 2n ** 40n, true));
    expect([block.fileOffset, block.message]).toEqual([sizeField, `VMware @${hex(sizeField)}: block tag "CR64[0]" of 0x10000000000 bytes (after 3 bytes of padding) overruns group "cpu", which ends at ${hex(group('cpu').end)}`]);
    const end = lie((v) => v.setBigUint64(m.entry + 72, BigInt(m.end - m.tags - 2), true));
    expect([end.fileOffset, end.message]).toEqual([m.end - 2, `VMware @${hex(m.end - 2)}: group "memory" ends at ${hex(m.end - 2)} before its end tag (two zero bytes)`]);
  });

  it('regions: a count past the tags or past any VM, past the end of the .vmem, overlapping, given twice', () => {
    const count = tag('memory/regionsCount');
    const n = dv(W.stateBytes).getUint32(count.data, true);
    const more = lie((v) => v.setUint32(count.data, n + 1, true));
    expect([more.fileOffset, more.message]).toEqual([count.data, `VMware @${hex(count.data)}: regionsCount is ${n + 1}, but region ${n} has no regionPPN[${n}] tag`]);
    const huge = lie((v) => v.setUint32(count.data, 0x7fffffff, true));
    expect(huge.message).toBe(`VMware @${hex(count.data)}: regionsCount is 2147483647: more than the ${VMWARE_MAX_REGIONS} regions any VM has`);
    const k = n - 1;
    const sz = tag(`memory/regionSize[${k}]`);
    const ppn = dv(W.stateBytes).getUint32(tag(`memory/regionPPN[${k}]`).data, true);
    const pages = dv(W.stateBytes).getUint32(sz.data, true);
    const from = dv(W.stateBytes).getUint32(tag(`memory/regionPageNum[${k}]`).data, true);
    const vmem = W.vmemBytes!.length;
    const past = lie((v) => v.setUint32(sz.data, pages + 1, true));
    expect([past.fileOffset, past.message]).toEqual([
      sz.data,
      `VMware @${hex(sz.data)}: region ${k} (physical ${hex(ppn * PAGE_SIZE)}..${hex((ppn + pages + 1) * PAGE_SIZE - 1)}) needs bytes ${hex(from * PAGE_SIZE)}..${hex((from + pages + 1) * PAGE_SIZE - 1)} of guest.vmem, past its end (${hex(vmem)} bytes): truncated or lying`,
    ]);
    // The same lie, told by a .vmem cut short.
    const cut = lie(() => {}, W.vmemBytes!.subarray(0, vmem - 1));
    expect(cut.message).toMatch(new RegExp(`^VMware @${hex(sz.data)}: region ${k} .* of guest\\.vmem, past its end \\(${hex(vmem - 1)} bytes\\): truncated or lying$`));
    const ppn1 = tag('memory/regionPPN[1]');
    const p0 = dv(W.stateBytes).getUint32(tag('memory/regionPPN[0]').data, true);
    const overlap = lie((v) => v.setUint32(ppn1.data, p0, true));
    expect([overlap.fileOffset, overlap.message]).toEqual([ppn1.data, `VMware @${hex(ppn1.data)}: region 1 (${hex(p0 * PAGE_SIZE)}..${hex(p0 * PAGE_SIZE + PAGE_SIZE - 1)}) overlaps region 0 (${hex(p0 * PAGE_SIZE)}..${hex(p0 * PAGE_SIZE + PAGE_SIZE - 1)})`]);
    const twice = lie((v) => v.setUint32(ppn1.at + 2 + 9, 0, true)); // regionPPN[1] says [0]
    expect([twice.fileOffset, twice.message]).toEqual([ppn1.at, `VMware @${hex(ppn1.at)}: a second regionPPN[0] tag (the first is at ${hex(tag('memory/regionPPN[0]').at)})`]);
    const far = lie((v) => v.setUint32(ppn1.at + 2 + 9, 0x7fffffff, true));
    expect(far.message).toBe(`VMware @${hex(ppn1.at + 2 + 9)}: regionPPN[2147483647]: a region index past the ${VMWARE_MAX_REGIONS} any VM has`);
    const zero = lie((v) => v.setUint32(sz.data, 0, true));
    expect(zero.message).toBe(`VMware @${hex(sz.data)}: region ${k}'s regionSize is 0 pages`);
  });

  it('CPUs: an index past any VM, a CR3 given twice', () => {
    const cr = tag('cpu/CR64[1]');
    const far = lie((v) => v.setUint32(cr.at + 2 + 4, 0xffffffff, true));
    expect([far.fileOffset, far.message]).toEqual([cr.at + 6, `VMware @${hex(cr.at + 6)}: CR64[4294967295]: a CPU index past the ${VMWARE_MAX_CPUS} any VM has`]);
    const twice = lie((v) => v.setUint32(cr.at + 2 + 4, 0, true));
    expect([twice.fileOffset, twice.message]).toEqual([cr.at, `VMware @${hex(cr.at)}: a second CR3 for CPU 0 (the first is at ${hex(tag('cpu/CR64[0]').data + 0x18)})`]);
  });

  it('memory in the state file: compressed is refused by name', () => {
    const e = written({ embedded: true });
    const mem = e.tags.get('memory/Memory')!;
    const b = e.stateBytes.slice();
    b[mem.at] = 62;
    const err = errorOf(() => open(b, undefined));
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toBe(`VMware @${hex(mem.at)}: guest.vmss's Memory block is compressed, which is not read here: give the .vmem, or save the VM with its memory uncompressed`);
  });

  it('a lie about sizes costs no more reads than the truth', () => {
    const b = W.stateBytes.slice();
    dv(b).setUint32(8, 0xffffffff, true);
    const source = new BufferSource(b, 'guest.vmss');
    expect(errorOf(() => openVmware(source, new BufferSource(W.vmemBytes!, 'guest.vmem')))).toBeInstanceOf(CaptureError);
    expect(source.bytesRead).toBe(12);
  });
});

/** What opening gives, as long as it is a CaptureError or a capture whose every stored frame reads. */
function outcome(state: Uint8Array, vmem: Uint8Array | undefined): CaptureMemory | CaptureError {
  let c: CaptureMemory;
  try {
    c = open(state, vmem);
  } catch (e) {
    if (e instanceof CaptureError) {
      expect(e.fileOffset).toBeGreaterThanOrEqual(0);
      expect(e.fileOffset).toBeLessThanOrEqual(state.length);
      return e;
    }
    throw e;
  }
  for (const r of c.ranges) {
    for (let p = Math.ceil(r.physical / PAGE_SIZE); (p + 1) * PAGE_SIZE <= r.physical + r.length; p++) expect(c.readFrame(p)).toBeDefined();
  }
  return c;
}

const SAMPLES: [string, VmwareOptions][] = [
  ['.vmss with regions', {}],
  ['version 0, CR64 values', { magic: 0xbed0bed0, crForm: 'values' }],
  ['memory in the state file', { embedded: true }],
];

describe('property: a state file truncated at every depth, or any bytes lying', () => {
  for (const [name, o] of SAMPLES) {
    const w = written(o);
    const metadata = w.vmemBytes ? w.stateBytes.length : w.tags.get('memory/Memory')!.data;

    it(`${name}: a state file cut at any point is a CaptureError`, () => {
      // Every cut inside the metadata, one by one; and random cuts inside the RAM when the state file holds it.
      for (let t = 0; t < metadata; t++) expect(outcome(w.stateBytes.subarray(0, t), w.vmemBytes), `cut at ${t}`).toBeInstanceOf(CaptureError);
      if (!w.vmemBytes) {
        fc.assert(
          fc.property(fc.integer({ min: metadata, max: w.stateBytes.length - 1 }), (t) => {
            expect(outcome(w.stateBytes.subarray(0, t), undefined)).toBeInstanceOf(CaptureError);
          }),
          fcParams({ numRuns: 100 }),
        );
      }
    });

    if (w.vmemBytes) {
      it(`${name}: a .vmem cut short of its regions is a CaptureError`, () => {
        fc.assert(
          fc.property(fc.integer({ min: 0, max: w.vmemBytes!.length - 1 }), (t) => {
            expect(outcome(w.stateBytes, w.vmemBytes!.subarray(0, t))).toBeInstanceOf(CaptureError);
          }),
          fcParams({ numRuns: 100 }),
        );
      });
    }

    it(`${name}: any bytes written over the metadata open cleanly or give a CaptureError, quickly`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: metadata - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), (at, bytes) => {
          const b = w.stateBytes.slice();
          b.set(bytes.subarray(0, b.length - at), at);
          const t0 = performance.now();
          outcome(b, w.vmemBytes);
          expect(performance.now() - t0).toBeLessThan(2000);
        }),
        fcParams({ numRuns: 400 }),
      );
    });
  }
});
