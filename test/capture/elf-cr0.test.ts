// A CPU note whose CR0 has PG clear (a guest in firmware or running no OS, as a real QEMU core of
// an empty VM shows: CR0 0x10) says so in a warning: its CR3 names no page table. A CR0 of 0 was
// not recorded (CR0.ET reads 1 on any CPU QEMU or VirtualBox emulates) and says nothing.
import { describe, expect, it } from 'vitest';
import { QEMU_CPU, VBOX_CPU, openElfCore } from '../../src/capture/sources/elf-core.js';
import { bufferReader, asByteSource } from '../../src/capture/reader.js';
import { writeElfCore } from '../support/capture-writers.js';
import { kernelSpace } from '../support/dtb-images.js';

const space = kernelSpace(0x1e0);

/** A core whose CPU 0 note holds `cr0`. */
function coreWithCr0(producer: 'qemu' | 'virtualbox', cr0: bigint): Uint8Array {
  const bytes = writeElfCore(space, { producer, cr3: [space.dtb, space.dtb] }).toBytes();
  const first = openElfCore(asByteSource(bufferReader(bytes, 'probe.elf')));
  const cr3At = first.cpus[0]!.fileOffset;
  first.close();
  const layout = producer === 'qemu' ? QEMU_CPU : VBOX_CPU;
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(cr3At - (layout.cr3 - layout.cr0), cr0, true);
  return bytes;
}

const warningsOf = (bytes: Uint8Array): readonly string[] => {
  const core = openElfCore(asByteSource(bufferReader(bytes, 'guest.elf')));
  try {
    return core.warnings;
  } finally {
    core.close();
  }
};

describe('CR0 in the CPU notes', () => {
  for (const producer of ['qemu', 'virtualbox'] as const) {
    it(`${producer}: PG clear warns that the CPU's CR3 names no page table`, () => {
      expect(warningsOf(coreWithCr0(producer, 0x10n))).toContain("CPU 0's CR0 0x10 has PG clear: paging was off (firmware, or no OS running), so its CR3 names no page table");
    });
    it(`${producer}: PG set, or a CR0 not recorded (0), says nothing`, () => {
      for (const cr0 of [0x80050033n, 0n]) expect(warningsOf(coreWithCr0(producer, cr0)).filter((w) => w.includes('CR0'))).toEqual([]);
    });
  }
});
