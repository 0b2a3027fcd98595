/**
 * Writes the bundled samples of the capture formats with no DTB of their own or a state file
 * beside them, each holding the sample-x64 tree at 0xffffc70a12340f80 behind a Windows-like PML4
 * (self-map entry 0x1A3, KUSER_SHARED_DATA mapped) at physical 0x1b3000, its frames scattered:
 *
 * - fixtures/sample-x64.lime: a LiME capture of the frames that hold something (its DTB is found);
 * - fixtures/sample-x64.core: a QEMU dump-guest-memory ELF64 core of the same frames, two CPUs
 *   whose CR3s carry PCIDs 1 and 2 (the DTB is the CR3 of the CPU that maps the root);
 * - fixtures/sample-x64.vmem + fixtures/sample-x64.vmss: a VMware suspended VM (CR3 in the .vmss).
 *
 * `npx tsx scripts/capture-fixtures.ts`; test/capture/capture-fixtures.test.ts requires the
 * committed files to be exactly what this writes.
 */
import { writeFileSync } from 'node:fs';
import { CAPTURE_SAMPLES, buildCaptureSamples } from '../test/support/capture-samples.js';

for (const [name, bytes] of Object.entries(buildCaptureSamples())) {
  writeFileSync(CAPTURE_SAMPLES.files[name as keyof typeof CAPTURE_SAMPLES.files], bytes);
  console.log(`wrote ${CAPTURE_SAMPLES.files[name as keyof typeof CAPTURE_SAMPLES.files]}`);
}
