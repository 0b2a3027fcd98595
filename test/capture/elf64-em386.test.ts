// QEMU writes the core of a guest that is not in long mode with e_machine EM_386, and in an
// ELF64 file whenever a block it dumps ends above 0xFFFFFFFF: on a PC machine the BIOS ROM ends at
// 4 GiB, so a 32-bit guest's core is ELF64 + EM_386 (seen in a real QEMU 7.2 core, docs/captures.md).
// Such a core is an x86 machine: CR4.PAE in its CPU note chooses PAE or non-PAE paging, and its
// trees decode with the x86 ABI exactly as their regions do.
import { describe, expect, it } from 'vitest';
import { openCaptureImage } from '../../src/capture/open.js';
import { bufferReader } from '../../src/capture/reader.js';
import type { AddressSpace } from '../../src/codec/dump-builder.js';
import { decodeTree } from '../../src/tree/decode.js';
import { writeElfCore } from '../support/capture-writers.js';
import { normalised } from '../support/dump-trees.js';
import { buildX86Space, regionDoc32, x86Regions, x86Trees } from '../support/x86-dumps.js';

const trees = x86Trees();

describe('an ELF64 core with e_machine EM_386', () => {
  for (const paging of ['pae', 'non-pae'] as const) {
    it(`of a ${paging} guest: machine x86, ${paging} paging from CR4, trees decode as their regions`, () => {
      const space = buildX86Space(x86Regions(trees), { paging, scatter: 13 });
      const cr4 = paging === 'pae' ? 1n << 5n : 1n << 4n;
      const bytes = writeElfCore({ ...space, entryOf: () => undefined } as unknown as AddressSpace, { producer: 'qemu', elfClass: 64, cr4 }).toBytes();
      new DataView(bytes.buffer, bytes.byteOffset).setUint16(0x12, 3, true); // e_machine EM_386, as QEMU writes for a guest not in long mode
      const capture = openCaptureImage(bufferReader(bytes, 'guest32.elf'), { probes: [BigInt(trees[0]!.root)] });
      try {
        expect([capture.format, capture.variant, capture.machine, capture.abi, capture.paging]).toEqual(['elf-core', 'QEMU dump-guest-memory ELF64', 'x86', 'x86', paging]);
        expect(capture.dtb).toMatchObject({ value: space.dtb & (paging === 'pae' ? ~0x1fn : ~0xfffn), source: 'cpu-note', cpu: 0 });
        expect(capture.warnings).toEqual([]);
        for (const t of trees) expect(normalised(decodeTree(capture.image, BigInt(t.root), t.options))).toEqual(normalised(regionDoc32(t)));
      } finally {
        capture.close();
      }
    });
  }
});
