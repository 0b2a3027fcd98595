// Captures this library does not read are recognised from a minimal header and refused by name
// with a way forward; files of the formats it reads (and raw memory) are not refused. The crash
// dump reader's own refusals (summary dumps, minidumps) say what to write instead.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HDR, MINIDUMP_REFUSAL, readDump } from '../../src/codec/dump.js';
import { writeFullDump } from '../../src/codec/dump-writer.js';
import { BufferSource } from '../../src/codec/physical.js';
import { REFUSED_HEAD_BYTES, recogniseRefused, refusalError, refusalForName, refuseKnown } from '../../src/capture/index.js';
import { CaptureError, DumpError } from '../../src/errors.js';
import { writeElfCore, writeLime } from '../support/capture-writers.js';
import { standardSpace, standardTrees, writeCaptures } from '../support/dump-trees.js';
import { errorOf } from '../support/errors.js';
import { writeVmware } from '../support/vmware-writers.js';

const SPACE = standardSpace(standardTrees());
const DIR = writeCaptures(SPACE, 'ndis-refused-').dir;
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const bytes = (...parts: (string | number[])[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p));
  return new Uint8Array(out);
};
const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const ELF = "capture it again as an ELF core (virsh dump --memory-only --format=elf DOMAIN FILE, or the QEMU monitor's dump-guest-memory FILE without -z, -l or -s)";

/** Each refused format's minimal header, and the whole message a file of it gets. */
const CASES: [string, Uint8Array, string][] = [
  [
    'kdump-compressed (KDUMP)',
    bytes('KDUMP   ', le32(6)),
    `kdump-compressed @0x0: guest.dump is a kdump-compressed dump (makedumpfile, or QEMU dump-guest-memory -z/-l/-s), whose pages are compressed: ${ELF}`,
  ],
  ['diskdump (DISKDUMP)', bytes('DISKDUMP', le32(1)), `kdump-compressed @0x0: guest.dump is a kdump-compressed dump (makedumpfile, or QEMU dump-guest-memory -z/-l/-s), whose pages are compressed: ${ELF}`],
  [
    "QEMU's flattened makedumpfile wrapper",
    bytes('makedumpfile', [0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1]),
    `makedumpfile-flattened @0x0: guest.dump is makedumpfile's flattened format (makedumpfile -F, or QEMU's kdump formats), a compressed dump in transport order: ${ELF}; makedumpfile -R only rearranges it into a kdump-compressed dump, also refused`,
  ],
  ...(['hibr', 'HIBR', 'wake', 'WAKE', 'RSTR'].map((sig) => [
    `hibernation (${sig})`,
    bytes(sig, le32(0)),
    "hibernation @0x0: guest.dump is a Windows hibernation file (hiberfil.sys), whose pages are compressed: capture the running machine's memory with WinPmem or DumpIt instead, or decompress it to a raw image (Comae Hibr2Bin) and open that as a raw image",
  ]) as [string, Uint8Array, string][]),
  [
    'AVML',
    bytes('AVML', le32(2), [0, 0, 0, 0, 0, 0, 0, 0]),
    'AVML @0x0: guest.dump is a compressed AVML capture (snappy frames inside LiME headers): convert it to LiME with avml-convert FILE memory.lime (or capture with avml without --compress) and open that',
  ],
  ['a user-mode minidump (MDMP)', bytes('MDMP', le32(0xa793)), `minidump @0x0: guest.dump is a user-mode minidump (MDMP): ${MINIDUMP_REFUSAL}`],
];

describe('refused formats: recognised from their bytes, refused by name with a way forward', () => {
  for (const [name, head, message] of CASES) {
    it(name, () => {
      const r = recogniseRefused(head);
      expect(r?.fileOffset).toBe(0);
      const e = refusalError(r!, 'guest.dump');
      expect(e).toBeInstanceOf(CaptureError);
      expect([e.code, e.message]).toEqual(['CAPTURE', message]);
      expect(errorOf(() => refuseKnown(head, 'guest.dump'))).toMatchObject({ message });
      // One line, and the head it needs is no longer than REFUSED_HEAD_BYTES.
      expect(e.message).not.toContain('\n');
      expect(recogniseRefused(head.subarray(0, REFUSED_HEAD_BYTES))).toEqual(r);
    });
  }

  it('the signature alone, not a prefix of it or a neighbour, is refused', () => {
    expect(recogniseRefused(bytes('KDUMP  '))).toBeUndefined();
    expect(recogniseRefused(bytes('KDUMPX  '))).toBeUndefined();
    expect(recogniseRefused(bytes('makedumpfileX'))).toBeUndefined(); // no NUL after the signature
    expect(recogniseRefused(bytes('hib'))).toBeUndefined();
    expect(recogniseRefused(bytes('Hibr', le32(0)))).toBeUndefined();
    expect(recogniseRefused(bytes('AVML', le32(1)))).toBeUndefined(); // version 1 is LiME's layout, not AVML's compressed one
    expect(recogniseRefused(new Uint8Array(0))).toBeUndefined();
  });

  it('files of the formats read here, and raw memory, are not refused', () => {
    const heads: [string, Uint8Array][] = [
      ['LiME', writeLime(SPACE, { ranges: 'frames' }).toBytes()],
      ['ELF core', writeElfCore(SPACE, { ranges: 'frames' }).toBytes()],
      ['VMware state file', writeVmware(SPACE, { ranges: 'frames' }).state.toBytes()],
      ['full dump', readFileSync(join(DIR, 'full.dmp')).subarray(0, 0x2000)],
      ['bitmap dump', readFileSync(join(DIR, 'bitmap.dmp')).subarray(0, 0x2000)],
      ['raw image', readFileSync(join(DIR, 'memory.raw')).subarray(0, 0x2000)],
      ['zeros', new Uint8Array(64)],
    ];
    for (const [name, head] of heads) {
      expect(recogniseRefused(head.subarray(0, REFUSED_HEAD_BYTES)), name).toBeUndefined();
      expect(() => refuseKnown(head, name)).not.toThrow();
    }
  });

  it('Hyper-V saved states: no verified signature, so only a hint from the name, for an unrecognised file', () => {
    expect(refusalForName('C:\\Hyper-V\\Virtual Machines\\4A0F.vmrs')).toMatchObject({ format: 'Hyper-V saved state' });
    expect(refusalForName('/saved/4A0F.VSV')).toMatchObject({ format: 'Hyper-V saved state' });
    expect(refusalForName('/saved/4A0F.bin')).toBeUndefined(); // too common a name to say anything
    expect(refusalForName('guest.vmem')).toBeUndefined();
    expect(refusalError(refusalForName('a.vmrs')!, 'a.vmrs').message).toBe(
      "Hyper-V saved state @0x0: a.vmrs is a Hyper-V saved state (.vmrs, or .bin + .vsv), by its name: convert it to a crash dump with vm2dmp, or write a dump inside the guest (Startup and Recovery, or a kernel debugger's .dump /f)",
    );
  });
});

describe('the crash dump reader refuses summary dumps and minidumps saying what to write instead', () => {
  const full = writeFullDump(SPACE).toBytes();
  const dumpError = (patch: (v: DataView, b: Uint8Array) => void): DumpError => {
    const b = full.slice();
    patch(new DataView(b.buffer), b);
    const e = errorOf(() => readDump(new BufferSource(b, 'x.dmp')));
    expect(e).toBeInstanceOf(DumpError);
    return e as DumpError;
  };
  const instead = 'write a kernel or complete memory dump instead (Startup and Recovery: "Kernel memory dump" or "Complete memory dump", CrashDumpEnabled 2 or 1; or .dump /f in a kernel debugger)';

  it('DumpType 2 (kernel summary dump), DumpType 4 (minidump) and MDMP files', () => {
    expect(MINIDUMP_REFUSAL).toBe(instead);
    expect(dumpError((v) => v.setUint32(HDR.DumpType, 2, true)).message).toBe(`dump @0xf98: unsupported dump type 2 (kernel summary dump): ${instead}`);
    expect(dumpError((v) => v.setUint32(HDR.DumpType, 4, true)).message).toBe(`dump @0xf98: dump type 4 (minidump) is not a kernel memory image: ${instead}`);
    expect(dumpError((_, b) => b.set(bytes('MDMP'), 0)).message).toBe(`dump @0x0: a user-mode minidump (MDMP), not a kernel memory dump: ${instead}`);
  });
});
