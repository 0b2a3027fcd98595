// The command line on LiME captures and ELF cores of virtual machines, through the one capture
// layer (src/capture/open.ts): decode with only --root gives the region's document, scan with no
// source option finds the roots, info names format, ABI, paging and where the DTB came from, the
// CPU whose CR3 maps the root is chosen, hostile captures give one line and exit 3.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { AddressSpace } from '../../src/codec/dump-builder.js';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PAGE_SIZE, RawPhysicalMemory } from '../../src/codec/physical.js';
import { CAPTURE_FORMATS, type CaptureRecognizer, registerCaptureFormat } from '../../src/capture/open.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { writeElfCore, writeLime } from '../support/capture-writers.js';
import { type PlacedTree, normalised, standardSpace, standardTrees, writeRegion } from '../support/dump-trees.js';

async function run(argv: string[], stdin?: Uint8Array): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty: false, env: {}, ...(stdin ? { readStdin: () => stdin.slice() } : {}) });
  return { code, out, err };
}

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const DIR = mkdtempSync(join(tmpdir(), 'ndis-cli-captures-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const DTB = SPACE.dtb & ~0xfffn;
const PML4 = Number(DTB / BigInt(PAGE_SIZE));
const file = (name: string, bytes: Uint8Array): string => {
  const f = join(DIR, name);
  writeFileSync(f, bytes);
  return f;
};

/** A RAM frame that holds nothing: its table maps no page at all. */
const EMPTY_PFN = (() => {
  for (let p = 0x100; p < SPACE.physicalPages; p++) if (!SPACE.frames.has(p)) return p;
  throw new Error('no free frame');
})();
/** A frame outside every RAM run: a CR3 there points outside memory. */
const OUTSIDE = BigInt(SPACE.physicalPages + 0x1000) * BigInt(PAGE_SIZE);

/**
 * The space plus a decoy PML4 in a free frame: the root's PML4 entry cleared and the same PDPT
 * entered at index 511, so the decoy maps kernel pages (at 0xffffff80...) but not the trees.
 */
const DECOY_PFN = EMPTY_PFN + 1;
const WITH_DECOY: AddressSpace = (() => {
  const real = SPACE.frames.get(PML4)!;
  const decoy = new Uint8Array(real);
  const v = new DataView(decoy.buffer);
  const index = Number((TREES[0]!.root >> 39n) & 0x1ffn);
  v.setBigUint64(511 * 8, v.getBigUint64(index * 8, true), true);
  v.setBigUint64(index * 8, 0n, true);
  const frames = new Map(SPACE.frames);
  frames.set(DECOY_PFN, decoy);
  return { ...SPACE, frames };
})();

const FILES = {
  lime: file('memory.lime', writeLime(SPACE, { ranges: 'frames' }).toBytes()),
  qemu: file('qemu.elf', writeElfCore(SPACE, { producer: 'qemu', cr3: [SPACE.dtb | 0x5n] }).toBytes()),
  virtualbox: file('vbox.core', writeElfCore(SPACE, { producer: 'virtualbox', mmio: [{ physical: 0xfee00000, length: 0x1000 }] }).toBytes()),
  // CPU 0: a table outside memory, CPU 1: a table mapping nothing, CPU 2: the decoy, CPU 3: the kernel's.
  cpus: file('cpus.elf', writeElfCore(WITH_DECOY, { producer: 'qemu', cr3: [OUTSIDE, BigInt(EMPTY_PFN * PAGE_SIZE), BigInt(DECOY_PFN * PAGE_SIZE), SPACE.dtb] }).toBytes()),
};
type Kind = keyof typeof FILES;
/** The source arguments: LiME records no CR3, and SPACE's PML4 does not map itself (no self-map to find), so it needs --dtb. */
const source = (kind: Kind): string[] => (kind === 'lime' ? [FILES.lime, '--dtb', hex(DTB)] : [FILES[kind]]);

function oneLine(err: string): void {
  expect(err).not.toMatch(/\n\s+at /);
  expect(err.split('\n').filter(Boolean)).toHaveLength(1);
}

describe('decode with only --root is the region document', () => {
  const regions = new Map(TREES.map((t) => [t.name, writeRegion(DIR, t)]));
  for (const kind of ['lime', 'qemu', 'virtualbox', 'cpus'] as const) {
    for (const t of TREES) {
      it(`${kind}: ${t.name}`, async () => {
        const plain = await run(['decode', regions.get(t.name)!, '--base', hex(t.root), ...t.args, '--json']);
        expect(plain.code).toBe(0);
        const r = await run(['decode', ...source(kind), '--root', hex(t.root), ...t.args, '--json']);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(normalised(JSON.parse(r.out) as TreeDocument)).toEqual(normalised(JSON.parse(plain.out) as TreeDocument));
      });
    }
  }

  it('validate and hexdump read an ELF core the same way', async () => {
    const t = TREES.find((x) => x.name === 'sample-x64')!;
    const v = await run(['validate', FILES.qemu, '--root', hex(t.root), '--operation', 'initiate']);
    expect([v.code, v.err]).toEqual([0, '']);
    const h = await run(['hexdump', FILES.virtualbox, '--root', hex(t.root), '--operation', 'initiate']);
    expect(h.code).toBe(0);
    const region = await run(['hexdump', regionOf(t), '--base', hex(t.root), '--operation', 'initiate']);
    const strip = (text: string): string => text.replace(/^(0x[0-9a-f]+) \+[0-9a-f]+ /gm, '$1 ');
    expect(h.out).toContain(`${hex(t.root)} +`);
    expect(strip(h.out)).toBe(strip(region.out));
  });

  it("diff: each side's --root chooses its CPU", async () => {
    const t = TREES.find((x) => x.name === 'sample-x64')!;
    // CPU 2's decoy table maps kernel pages but not the tree: without the root it would be chosen.
    const r = await run(['diff', FILES.cpus, FILES.qemu, '--a-root', hex(t.root), '--b-root', hex(t.root), '--operation', 'initiate']);
    expect([r.code, r.err]).toEqual([0, '']);
  });

  it('diff takes an ELF core against the region', async () => {
    const t = TREES.find((x) => x.name === 'sample-x64')!;
    const r = await run(['diff', FILES.qemu, regionOf(t), '--a-root', hex(t.root), '--b-base', hex(t.root), '--operation', 'initiate']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('--dtb still overrides the CPU notes', async () => {
    const t = TREES[0]!;
    const wrong = await run(['decode', FILES.qemu, '--root', hex(t.root), '--dtb', hex(BigInt(EMPTY_PFN * PAGE_SIZE)), ...t.args]);
    // An empty table: the root is not mapped, and the decode says so (the CPU note's table would map it).
    expect(wrong.code).toBe(3);
    expect(wrong.out).toMatch(new RegExp(`POINTER_OUTSIDE_IMAGE: root ${hex(t.root)}: [^]*PML4E not present at physical ${hex(EMPTY_PFN * PAGE_SIZE).slice(0, -3)}`));
    const outside = await run(['decode', FILES.qemu, '--root', hex(t.root), '--dtb', hex(OUTSIDE), ...t.args]);
    expect(outside.code).toBe(2);
    expect(outside.err).toMatch(/^ndis-offload: DirectoryTableBase 0x[0-9a-f]+ is not in /);
  });
});

function regionOf(t: PlacedTree): string {
  return join(DIR, `${t.name}.bin`);
}

describe('the CPU whose CR3 maps kernel space', () => {
  it('with --root: the first CPU that maps the root, passing over a table outside memory, one that maps nothing and a decoy', async () => {
    const t = TREES[0]!;
    const r = await run(['info', FILES.cpus, '--json']);
    expect(r.code).toBe(0);
    // Without a root, the first CPU that maps kernel space is the decoy.
    const info = JSON.parse(r.out) as { capture: { dtb: { value: string; source: string; cpu: number; evidence: string } } };
    expect(info.capture.dtb).toMatchObject({ value: hex(BigInt(DECOY_PFN * PAGE_SIZE)), source: 'cpu-note', cpu: 2 });
    expect(info.capture.dtb.evidence).toContain('maps kernel space (first at 0xffffff8');
    expect(info.capture.dtb.evidence).toContain(`passed over: CPU 0: its table ${hex(OUTSIDE)} is not in memory, CPU 1: maps no kernel page`);
    // With the root, the kernel's (the decode tests above prove it reads the trees).
    const d = await run(['decode', FILES.cpus, '--root', hex(t.root), ...t.args, '--brief']);
    expect([d.code, d.err]).toEqual([0, '']);
  });

  it('a core whose every CR3 is outside memory: exit 3, the file offset of the first CR3 field', async () => {
    const f = file('nowhere.elf', writeElfCore(SPACE, { producer: 'qemu', cr3: [OUTSIDE, OUTSIDE + 0x1000n] }).toBytes());
    const r = await run(['scan', f]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(new RegExp(`^ndis-offload: ${f.replace(/[.\\]/g, '\\$&')}: elf-core @0x[0-9a-f]+: CPU 0's CR3 ${hex(OUTSIDE)}: DirectoryTableBase ${hex(OUTSIDE)} is not in `));
    oneLine(r.err);
  });
});

describe('scan with no source option', () => {
  for (const kind of ['lime', 'qemu', 'virtualbox'] as const) {
    it(`${kind}: every tree's root, best first`, async () => {
      const r = await run(['scan', ...source(kind), '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const { candidates } = JSON.parse(r.out) as { candidates: { address: string }[] };
      expect(new Set(candidates.slice(0, TREES.length).map((c) => c.address))).toEqual(new Set(TREES.map((t) => hex64(t.root))));
    });
  }
});

describe('info on every capture', () => {
  it('a QEMU core: format, machine, ABI, paging, the DTB from CPU 0 with its PCID masked, ranges, CPUs', async () => {
    const r = await run(['info', FILES.qemu]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^file +${FILES.qemu.replace(/[.\\]/g, '\\$&')} \\(\\d+ bytes, `));
    for (const s of [
      'format           elf-core (QEMU dump-guest-memory ELF64)',
      'machine          x64',
      'ABI              x64',
      'paging           x64 4-level paging',
      `DTB              ${hex(DTB)} from CPU 0's CR3: CPU 0 of 1: CR3 ${hex(SPACE.dtb | 0x5n)} (file offset 0x`,
      'bits 51:12 (CR4.PCIDE: bits 11:0 are the PCID)) maps kernel space',
      `physical memory  2 ranges, `,
      'CPUs             1',
      `CPU 0            CR3 ${hex(SPACE.dtb | 0x5n)} (table at ${hex(DTB)}; bits 51:12 (CR4.PCIDE: bits 11:0 are the PCID)) CR4 0x`,
      'warnings         none',
    ]) {
      expect(r.out).toContain(s);
    }
    expect(r.out).toContain(', chosen\n');
  });

  it('--json: 64-bit values as strings', async () => {
    const r = await run(['info', FILES.virtualbox, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as Record<string, any>;
    expect(info).toMatchObject({
      file: FILES.virtualbox,
      capture: { format: 'elf-core', variant: 'VirtualBox dumpvmcore ELF64 (VirtualBox 7.0.14 r161095)', machine: 'x64', abi: 'x64', paging: 'x64', dtb: { value: hex(DTB), source: 'cpu-note', cpu: 0 } },
      warnings: [],
    });
    expect(info.capture.absent).toEqual([{ physical: '0xfee00000', length: '4096', why: expect.any(String) }]);
    expect(info.capture.cpus[0]).toMatchObject({ index: 0, cr3: hex(SPACE.dtb), dtb: hex(DTB), fileOffset: expect.stringMatching(/^0x/) });
    expect(info.capture.ranges[0]).toEqual({ physical: '0x1000', length: String(0x9e * PAGE_SIZE), fileOffset: expect.stringMatching(/^0x[0-9a-f]+000$/) });
  });

  it('LiME: no CPU state, so the DTB is --dtb; without it info still describes the capture and says why', async () => {
    const given = await run(['info', FILES.lime, '--dtb', hex(DTB)]);
    expect(given.code).toBe(0);
    expect(given.out).toContain('format           lime (LiME version 1)\n');
    expect(given.out).toContain('machine          not recorded\n');
    expect(given.out).toContain(`DTB              ${hex(DTB)} from --dtb: given\n`);
    const none = await run(['info', FILES.lime, '--json']);
    expect(none.code).toBe(0);
    const j = JSON.parse(none.out) as { capture: { dtb: unknown; ranges: unknown[] }; warnings: string[] };
    expect(j.capture.dtb).toBeNull();
    expect(j.capture.ranges.length).toBeGreaterThan(2);
    expect(j.warnings).toHaveLength(1);
    expect(j.warnings[0]).toMatch(/^DTB discovery @0x0: no kernel DirectoryTableBase found in LiME version 1 .*memory\.lime .*: no page of it is a top-level page table that maps itself; give it with --dtb$/);
  });

  it('a crash dump: its header rows, plus where the DTB came from', async () => {
    const r = await run(['info', 'fixtures/sample-x64.dmp']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('\nformat               dump (PAGEDU64 DumpType ');
    expect(r.out).toContain('\nABI                  x64\n');
    expect(r.out).toContain('\npaging               x64 4-level paging\n');
    expect(r.out).toContain('\nDTB source           from the header: DUMP_HEADER64.DirectoryTableBase 0x');
  });

  it('a region and --physical', async () => {
    const r = await run(['info', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340000', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ file: 'fixtures/sample-x64.bin', capture: { format: 'region', variant: 'one region at 0xffffc70a12340000', paging: 'none', dtb: null, abi: 'x64' } });
    const raw = file('memory.raw', writeRawPhysical(SPACE).toBytes());
    const p = await run(['info', '--physical', raw, '--dtb', hex(DTB)]);
    expect(p.code).toBe(0);
    expect(p.out).toContain('format           raw (raw physical memory image)\n');
    expect(p.out).toContain(`DTB              ${hex(DTB)} from --dtb: given\n`);
    expect(p.out).toMatch(/physical memory  1 range, .*\n +0x0-0x[0-9a-f]+fff  .*  at file offset 0x0\n/);
  });

  it('--abi is refused on a capture: its paging gives the ABI', async () => {
    const r = await run(['info', FILES.qemu, '--abi', 'x86']);
    expect(r.code).toBe(2);
    oneLine(r.err);
    const d = await run(['decode', FILES.qemu, '--root', hex(TREES[0]!.root), '--abi', 'x86']);
    expect([d.code, d.err]).toEqual([2, `ndis-offload: --abi x86: ${FILES.qemu} is a 64-bit ELF core read through x64 4-level paging; its trees are x64 (drop --abi or give --abi x64)\n`]);
  });
});

describe('captures are read-only and named by their bytes', () => {
  it('complete and encode --onto refuse an ELF core and a LiME capture', async () => {
    for (const f of [FILES.qemu, FILES.lime]) {
      const c = await run(['complete', f, '--base', '0x1000', '--operation', 'initiate']);
      expect(c.code).toBe(2);
      expect(c.err).toMatch(/^ndis-offload: complete: .* is (an ELF core|a LiME capture); captures are read-only here: complete writes only into a region capture \(IMAGE --base HEX\)\n$/);
    }
  });

  it('--base and --physical are refused on a recognised capture, whatever its name', async () => {
    const renamed = file('looks-like.bin', readFileSync(FILES.qemu));
    const b = await run(['decode', renamed, '--base', '0x1000']);
    expect([b.code, b.err]).toEqual([2, `ndis-offload: ${renamed} is an ELF core: the capture gives the addresses, so --base does not apply (give --root HEX)\n`]);
    const p = await run(['decode', '--physical', FILES.lime, '--dtb', hex(DTB), '--root', '0x1000']);
    expect([p.code, p.err]).toEqual([2, `ndis-offload: ${FILES.lime} is a LiME capture ("EMiL"), not a raw physical image: give it as IMAGE, without --physical\n`]);
  });

  it('a capture on standard input is refused: it is read by page, from a seekable file', async () => {
    for (const [f, what] of [[FILES.qemu, 'an ELF core'], [FILES.lime, 'a LiME capture']] as const) {
      for (const argv of [['decode', '-', '--root', '0x1000'], ['decode', '-', '--base', '0x1000'], ['scan', '-']]) {
        const r = await run(argv, new Uint8Array(readFileSync(f)));
        expect([r.code, r.err], argv.join(' ')).toEqual([2, `ndis-offload: standard input holds ${what}, and a capture must be a seekable file: give its path instead of '-'\n`]);
      }
    }
  });

  it('an ELF32 core whose CR4.PAE is set is read through PAE paging (here over x64 tables: nothing maps, said as a warning)', async () => {
    const f = file('x86.elf', writeElfCore(SPACE, { producer: 'qemu', elfClass: 32, cr4: 1n << 5n }).toBytes());
    const r = await run(['scan', f]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`ndis-offload: warning: ${f}: no CPU's CR3 maps kernel space: CPU 0's is used\n`);
    expect(r.out).toBe(`no plausible offload state tree in ${f}\n`);
  });
});

describe('hostile captures: one line, exit 3, the file offset of the field', () => {
  const lime = readFileSync(FILES.lime);
  const elf = readFileSync(FILES.qemu);
  const cases: [string, Buffer, RegExp][] = [
    ['a LiME range whose end is before its start', Buffer.concat([(() => { const b = Buffer.from(lime.subarray(0, 32)); b.writeBigUInt64LE(0n, 16); b.writeBigUInt64LE(0x2000n, 8); return b; })()]), /LiME @0x10: range 0's e_addr 0x0 is before its s_addr 0x2000/],
    ['a LiME file cut inside a range', lime.subarray(0, 32 + 100), /LiME @0x10: range 0 .* past the end of the file/],
    ['an ELF core cut inside its program headers', elf.subarray(0, 0x50), /ELF core @0x[0-9a-f]+: /],
    ['an ELF core whose PT_LOAD runs past the end', (() => { const b = Buffer.from(elf); b.writeBigUInt64LE(1n << 40n, 0x40 + 0x38 + 0x20); return b; })(), /ELF core @0x98: .*past the end of the file/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, async () => {
      const f = file(`hostile-${what.replace(/\W+/g, '-')}`, bytes);
      for (const argv of [['decode', f, '--root', '0xffffc70a12340000'], ['scan', f], ['info', f]]) {
        const r = await run(argv);
        expect(r.code, argv.join(' ')).toBe(3);
        expect(r.err).toMatch(message);
        expect(r.err.startsWith(`ndis-offload: ${f}: `)).toBe(true);
        oneLine(r.err);
      }
    });
  }
});

describe('a format plugged into the registry is read by every command', () => {
  it("a state file beside the memory (VMware's way): recognised through sniff's hasSibling, its DTB from the sibling", async () => {
    const memory = file('guest.vmem', writeRawPhysical(SPACE).toBytes());
    const state = new Uint8Array(8);
    new DataView(state.buffer).setBigUint64(0, DTB, true);
    writeFileSync(join(DIR, 'guest.vmss'), state);
    const recognizer: CaptureRecognizer = {
      id: 'state-file-toy',
      label: 'memory with a toy state file beside it',
      sniff: (_head, context) => context.hasSibling('.vmss'),
      open: (source, _options, context) => {
        const sibling = context.sibling('.vmss')!;
        const b = new Uint8Array(8);
        sibling.read(b, 0);
        sibling.close();
        const physical = new RawPhysicalMemory(source);
        return {
          format: 'state-file-toy',
          variant: 'toy .vmem + .vmss',
          machine: 'x64',
          physical,
          ranges: [{ physical: 0, length: source.size, fileOffset: 0 }],
          absent: [],
          cpus: [],
          warnings: [],
          dtb: { value: new DataView(b.buffer).getBigUint64(0, true), source: 'state-file', evidence: 'guest.vmss at 0x0' },
          close: () => physical.close(),
        };
      },
    };
    registerCaptureFormat(recognizer);
    try {
      const t = TREES[0]!;
      const plain = await run(['decode', regionOf(t), '--base', hex(t.root), ...t.args, '--json']);
      const r = await run(['decode', memory, '--root', hex(t.root), ...t.args, '--json']);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(normalised(JSON.parse(r.out) as TreeDocument)).toEqual(normalised(JSON.parse(plain.out) as TreeDocument));
      const i = await run(['info', memory]);
      expect(i.out).toContain(`DTB              ${hex(DTB)} from the state file: guest.vmss at 0x0\n`);
    } finally {
      CAPTURE_FORMATS.splice(CAPTURE_FORMATS.indexOf(recognizer), 1);
    }
    // Without the recogniser, the same file is not a capture: a region asked for --base.
    const r = await run(['decode', memory, '--root', '0x1000']);
    expect(r.err).toBe(`ndis-offload: --base HEX is required: the virtual address of the first byte of ${memory} (crash dumps need none)\n`);
  });
});
