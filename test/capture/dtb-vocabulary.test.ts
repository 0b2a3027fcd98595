// One vocabulary for a capture's DTB (src/capture/source.ts): a Capture's `dtb` is a DtbChoice
// whatever gave it, a 32-bit dump's header names its DTB with the same DtbChoice openCaptureImage
// reports, and discovery by the library's own search says its method ('low-stub' or 'self-map').
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openCaptureImage } from '../../src/capture/open.js';
import { bufferReader } from '../../src/capture/reader.js';
import { openDump32File } from '../../src/capture/sources/dump32.js';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { CAPTURE_SAMPLES } from '../support/capture-samples.js';
import { addLowStub, kernelSpace } from '../support/dtb-images.js';
import { standardTrees } from '../support/dump-trees.js';
import { SAMPLE_DUMP32 } from '../support/x86-dumps.js';

describe('DtbChoice everywhere', () => {
  it("a 32-bit dump's info.dtb is the DtbChoice openCaptureImage reports, with the header field's offset", () => {
    const dump = openDump32File(SAMPLE_DUMP32.file);
    const info = dump.info;
    dump.close();
    expect(info.dtb).toEqual({
      value: 0x6755a0n,
      source: 'header',
      evidence: 'DUMP_HEADER32.DirectoryTableBase 0x6755a0 (file offset 0x10), PaeEnabled 1 (file offset 0x5c)',
      fileOffset: 0x10,
    });
    const capture = openCaptureImage(bufferReader(new Uint8Array(readFileSync(SAMPLE_DUMP32.file)), 'x86.dmp'));
    try {
      expect(capture.dtb).toEqual(info.dtb);
      expect([capture.paging, capture.abi]).toEqual(['pae', 'x86']);
    } finally {
      capture.close();
    }
  });

  it("discovery's DtbChoice says how it was found: the self-map scan, or the low stub", () => {
    const lime = openCaptureImage(bufferReader(new Uint8Array(readFileSync(CAPTURE_SAMPLES.files.lime)), 'sample.lime'));
    try {
      expect(lime.dtb).toMatchObject({ value: CAPTURE_SAMPLES.dtb, source: 'discovery', method: 'self-map' });
    } finally {
      lime.close();
    }
    const space = kernelSpace(0x900, {}, standardTrees());
    addLowStub(space, 0x13, 0x900000n);
    const raw = openCaptureImage(bufferReader(writeRawPhysical(space).toBytes(), 'stub.raw'), { format: 'raw' });
    try {
      expect(raw.dtb).toMatchObject({ value: 0x900000n, source: 'discovery', method: 'low-stub' });
      expect(raw.dtb!.evidence).toMatch(/^DTB 0x900000 \(x64, low stub \(PROCESSOR_START_BLOCK\) at 0x13000: /);
    } finally {
      raw.close();
    }
  });

  it('a DTB given or from a CPU note has no method', () => {
    const core = openCaptureImage(bufferReader(new Uint8Array(readFileSync(CAPTURE_SAMPLES.files.core)), 'sample.core'));
    try {
      expect(core.dtb).toMatchObject({ value: CAPTURE_SAMPLES.dtb, source: 'cpu-note', cpu: 0 });
      expect(core.dtb!.method).toBeUndefined();
    } finally {
      core.close();
    }
    const given = openCaptureImage(bufferReader(new Uint8Array(readFileSync(CAPTURE_SAMPLES.files.lime)), 'sample.lime'), { dtb: CAPTURE_SAMPLES.dtb });
    try {
      expect(given.dtb).toEqual({ value: CAPTURE_SAMPLES.dtb, source: 'option', evidence: 'given' });
    } finally {
      given.close();
    }
  });
});
