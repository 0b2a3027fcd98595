// The bundled capture samples (scripts/capture-fixtures.ts writes them): the sample-x64 tree in a
// LiME capture, a QEMU-style ELF64 core (two CPUs, their CR3s with PCIDs) and a VMware .vmem +
// .vmss, behind a self-mapping PML4 so that the LiME capture's DTB is found.
import { writeElfCore, writeLime } from './capture-writers.js';
import { kernelSpace } from './dtb-images.js';
import { placeTree } from './dump-trees.js';
import { writeVmware } from './vmware-writers.js';

export const CAPTURE_SAMPLES = {
  root: 0xffffc70a12340f80n,
  dtb: 0x1b3000n,
  files: { lime: 'fixtures/sample-x64.lime', core: 'fixtures/sample-x64.core', vmem: 'fixtures/sample-x64.vmem', vmss: 'fixtures/sample-x64.vmss' },
} as const;

export function buildCaptureSamples(): Record<keyof typeof CAPTURE_SAMPLES.files, Uint8Array> {
  const tree = placeTree('sample-x64');
  if (tree.root !== CAPTURE_SAMPLES.root) throw new Error('the sample tree moved');
  const space = kernelSpace(Number(CAPTURE_SAMPLES.dtb) / 4096, {}, [tree]);
  const vmware = writeVmware(space, { ranges: 'frames', cr3: [space.dtb] });
  const core = writeElfCore(space, { producer: 'qemu', ranges: 'frames', cr3: [space.dtb, (space.dtb & ~0xfffn) | 0x2n] });
  return { lime: writeLime(space, { ranges: 'frames' }).toBytes(), core: core.toBytes(), vmem: vmware.vmem!.toBytes(), vmss: vmware.state.toBytes() };
}
