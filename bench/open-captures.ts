/**
 * The open-cost captures: the same small kernel content (a 64-byte pattern at a kernel address,
 * frames scattered) in a machine of 4 GiB of RAM, written once per format as a sparse file (only
 * the metadata and the few frames with content have bytes), and opened the way a user's command
 * opens it, up to a first translated read of the root:
 *
 *   dump     64-bit bitmap dump, every RAM page stored (DumpType 5, FDMP)   openCaptureImage
 *   rdmp     64-bit RDMP dump, DumpType 10 (complete), one range per run     openCaptureImage
 *   dump32   32-bit full dump (DumpType 1, PAE), every RAM page stored      openDump32 + image()
 *   lime     LiME, one range per RAM run (records no CR3: the DTB is given) openCaptureImage
 *   elf      ELF64 core as QEMU's dump-guest-memory writes it (a CPU note)  openCaptureImage
 *   vmware   .vmss state file (cpu, memory groups) + .vmem of 4 GiB         openVmware + PagedImage
 *
 * 32-bit dumps and VMware captures are opened by their own openers: the registry of
 * openCaptureImage does not hold them yet. bench/dump-cases.ts times `openFormat` (the `open/*@4g`
 * cases); test/capture/open-cost.test.ts counts the bytes it reads. The writers are the test
 * suite's (test/support), so that the bench and the tests open the same files.
 */
import path from 'node:path';
import { type Capture, openCaptureImage } from '../src/capture/open.js';
import { openFileReader } from '../src/capture/reader.js';
import { openDump32 } from '../src/capture/sources/dump32.js';
import { openVmware } from '../src/capture/sources/vmware.js';
import { buildAddressSpace, writeBitmapDump, writeRdmpDump } from '../src/codec/dump-writer.js';
import { Location, type MemoryImage } from '../src/codec/image.js';
import { PagedImage } from '../src/codec/paged.js';
import type { ByteSource } from '../src/codec/physical.js';
import { writeElfCore, writeLime } from '../test/support/capture-writers.js';
import { writeVmware } from '../test/support/vmware-writers.js';
import { buildX86Space, writeFullDump32 } from '../test/support/x86-dumps.js';

export const OPEN_FORMATS = ['dump', 'rdmp', 'dump32', 'lime', 'elf', 'vmware'] as const;
export type OpenFormat = (typeof OPEN_FORMATS)[number];

/** RAM of the captured machines: 4 GiB. */
export const OPEN_PAGES = 1 << 20;
/** Where the pattern is (the "root"): x64 and x86 kernel addresses, straddling no page. */
export const ROOT64 = 0xffffc70b00010f80n;
export const ROOT32 = 0x8a400f80;
/** The bytes at the root: what the first translated read must find. */
export const PATTERN = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);

export interface OpenFile {
  format: OpenFormat;
  /** The file opened (the state file for VMware). */
  file: string;
  /** VMware's .vmem. */
  vmem?: string;
  /** The root, and the DTB a LiME capture needs given. */
  root: string;
  dtb: string;
  /** Bytes of the format's metadata that an open must read: headers, tables, bitmap. */
  metadataBytes: number;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Writes the six captures into `dir` (sparse) and says how to open them. */
export function writeOpenCaptures(dir: string, formats: readonly OpenFormat[] = OPEN_FORMATS): OpenFile[] {
  const space = buildAddressSpace([{ address: ROOT64, bytes: PATTERN }], { scatter: 7, physicalPages: OPEN_PAGES });
  const out: OpenFile[] = [];
  const common = { root: hex(ROOT64), dtb: hex(space.dtb) };
  for (const format of formats) {
    const file = path.join(dir, `open-4g.${format}`);
    switch (format) {
      case 'dump': {
        const img = writeBitmapDump(space, { storeAll: true, signature: 'FDMP' });
        img.toFile(file);
        // Header (0x2000), bitmap header and bitmap: everything before the first page.
        out.push({ format, file, ...common, metadataBytes: img.chunks[0]!.bytes.length + img.chunks[1]!.bytes.length + img.chunks[2]!.bytes.length });
        break;
      }
      case 'rdmp': {
        const img = writeRdmpDump(space, { dumpType: 10 });
        img.toFile(file);
        out.push({ format, file, ...common, metadataBytes: img.chunks[0]!.bytes.length + img.chunks[1]!.bytes.length });
        break;
      }
      case 'dump32': {
        const s32 = buildX86Space([{ address: ROOT32, bytes: PATTERN }], { paging: 'pae', scatter: 7, physicalPages: OPEN_PAGES });
        const img = writeFullDump32(s32);
        img.toFile(file);
        out.push({ format, file, root: hex(ROOT32), dtb: hex(s32.dtb), metadataBytes: img.chunks[0]!.bytes.length });
        break;
      }
      case 'lime': {
        writeLime(space).toFile(file);
        out.push({ format, file, ...common, metadataBytes: 32 * space.runs.length });
        break;
      }
      case 'elf': {
        const img = writeElfCore(space);
        img.toFile(file);
        // ELF header, program headers and notes: the two first chunks.
        out.push({ format, file, ...common, metadataBytes: img.chunks[0]!.bytes.length + img.chunks[1]!.bytes.length });
        break;
      }
      case 'vmware': {
        const vm = writeVmware(space);
        const state = path.join(dir, 'open-4g.vmss');
        const vmem = path.join(dir, 'open-4g.vmem');
        vm.state.toFile(state);
        vm.vmem!.toFile(vmem);
        out.push({ format, file: state, vmem, ...common, metadataBytes: vm.state.size });
        break;
      }
    }
  }
  return out;
}

export interface OpenedForCost {
  image: MemoryImage;
  /** The readers the open went through, to count what it read. */
  sources: ByteSource[];
  close(): void;
}

/** Opens `f` as a user's command does (the registry's entry point, or the format's own opener). */
export function openFormat(f: OpenFile): OpenedForCost {
  const root = BigInt(f.root);
  switch (f.format) {
    case 'dump32': {
      const source = openFileReader(f.file);
      try {
        const dump = openDump32(source);
        return { image: dump.image(), sources: [source], close: () => dump.close() };
      } catch (e) {
        source.close();
        throw e;
      }
    }
    case 'vmware': {
      const state = openFileReader(f.file);
      const vmem = openFileReader(f.vmem!);
      const memory = openVmware(state, vmem);
      return { image: new PagedImage(memory, memory.cpus[0]!.dtb), sources: [state, vmem], close: () => memory.close() };
    }
    default: {
      const source = openFileReader(f.file);
      // LiME records no CR3: the user gives it (--dtb), as the DTB discovery registry is not consulted here.
      const c: Capture = openCaptureImage(source, { probes: [root], ...(f.format === 'lime' ? { dtb: BigInt(f.dtb) } : {}) });
      return { image: c.image, sources: [source], close: () => c.close() };
    }
  }
}

/** The first translated read: the root's 64 bytes, through the address space; throws when they are not the pattern. */
export function readRoot(image: MemoryImage, root: bigint, loc = new Location()): number {
  if (!image.locate(root, PATTERN.length, loc)) throw new Error(`0x${root.toString(16)} is not mapped`);
  let sum = 0;
  for (let i = 0; i < PATTERN.length; i++) {
    const b = loc.view.getUint8(loc.offset + i);
    if (b !== PATTERN[i]) throw new Error(`byte ${i} at 0x${root.toString(16)}: ${b}, not ${PATTERN[i]}`);
    sum += b;
  }
  return sum;
}

/** Open, first translated read of the root, close: what the open/<format>@4g cases time. */
export function openAndRead(f: OpenFile): number {
  const o = openFormat(f);
  try {
    return readRoot(o.image, BigInt(f.root));
  } finally {
    o.close();
  }
}
