// The formats plugged into the capture layer (src/capture/open.ts), through the command line:
// 32-bit crash dumps (PAE and non-PAE, the x86 ABI from the dump), VMware (.vmem with its state
// file beside it, the state file given directly), raw images and LiME files with no --dtb (DTB
// discovery), and the formats refused by their bytes with a one-line way forward.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PAGE_SIZE } from '../../src/codec/physical.js';
import type { TreeDocument } from '../../src/tree/document.js';
import type { AddressSpace } from '../../src/codec/dump-builder.js';
import { writeElfCore, writeLime } from '../support/capture-writers.js';
import { SELF_MAP, kernelSpace } from '../support/dtb-images.js';
import { normalised, standardSpace, standardTrees, writeRegion } from '../support/dump-trees.js';
import { writeVmware } from '../support/vmware-writers.js';
import { type PlacedX86Tree, buildX86Space, writeBitmapDump32, writeFullDump32, writeRawPhysical32, x86Regions, x86Trees } from '../support/x86-dumps.js';

async function run(argv: string[], io: { errIsTty?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty: io.errIsTty ?? false, env: {} });
  return { code, out, err };
}

const DIR = mkdtempSync(join(tmpdir(), 'ndis-cli-wired-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const file = (name: string, bytes: Uint8Array): string => {
  const f = join(DIR, name);
  writeFileSync(f, bytes);
  return f;
};
function oneLine(err: string): void {
  expect(err).not.toMatch(/\n\s+at /);
  expect(err.split('\n').filter(Boolean)).toHaveLength(1);
}
const argsOf = (t: { options: { operation?: string; ndis?: string } }): string[] => [
  ...(t.options.operation ? ['--operation', t.options.operation] : []),
  ...(t.options.ndis ? ['--ndis', t.options.ndis] : []),
];

/** Decodes `source --root` and the plain region, and expects the same document. */
async function sameAsRegion(source: string[], region: string, root: bigint | number, extra: string[], regionAbi: string[] = []): Promise<void> {
  const plain = await run(['decode', region, '--base', hex(root), ...regionAbi, ...extra, '--json']);
  expect([plain.code, plain.err]).toEqual([0, '']);
  const r = await run(['decode', ...source, '--root', hex(root), ...extra, '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(normalised(JSON.parse(r.out) as TreeDocument)).toEqual(normalised(JSON.parse(plain.out) as TreeDocument));
}

/** scan's roots (text output), as addresses. */
async function scanRoots(source: string[]): Promise<string> {
  const r = await run(['scan', ...source, '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return r.out;
}

describe('32-bit crash dumps: PAE and non-PAE, the x86 ABI from the dump', () => {
  const trees: PlacedX86Tree[] = x86Trees();
  const regions = new Map(trees.map((t) => [t.name, file(`${t.name}.x86.bin`, t.bytes)]));
  const dumps = {
    'PAE full': file('pae-full.dmp', writeFullDump32(buildX86Space(x86Regions(trees), { paging: 'pae', scatter: 3, selfMap: true })).toBytes()),
    'non-PAE bitmap': file('nonpae-bitmap.dmp', writeBitmapDump32(buildX86Space(x86Regions(trees), { paging: 'non-pae', scatter: 5, selfMap: true })).toBytes()),
  };
  for (const [kind, dump] of Object.entries(dumps)) {
    for (const t of trees) {
      it(`${kind}: decode ${t.name} with only --root is the region's document`, async () => {
        await sameAsRegion([dump], regions.get(t.name)!, t.root, argsOf(t), ['--abi', 'x86']);
      });
    }
    it(`${kind}: scan finds every root, validate reads it, info names format, ABI, paging and DTB`, async () => {
      const out = await scanRoots([dump]);
      for (const t of trees) expect(out).toContain(`"address": "${hex(t.root)}"`);
      const v = await run(['validate', dump, '--root', hex(trees[0]!.root), ...argsOf(trees[0]!)]);
      expect([v.code, v.err]).toEqual([0, '']);
      const info = await run(['info', dump]);
      expect(info.code).toBe(0);
      expect(info.out).toMatch(/\nformat +dump32 \(PAGEDUMP (full memory dump \(DumpType 1\)|bitmap dump \(DumpType 5, SDMP\))\)\n/);
      expect(info.out).toMatch(/\nABI +x86\n/);
      expect(info.out).toContain(kind.startsWith('PAE') ? 'PAE 3-level paging' : '32-bit 2-level paging (no PAE)');
      // The header's rows give the DTB (as for a 64-bit dump), the capture's rows where it came from.
      expect(info.out).toMatch(kind.startsWith('PAE') ? /\nDTB +0x[0-9a-f]{8} \(PDPT at physical 0x[0-9a-f]+[;)]/ : /\nDTB +0x[0-9a-f]{8} \(page directory at physical 0x[0-9a-f]+[;)]/);
      expect(info.out).toMatch(/\nDTB source +from the header: DUMP_HEADER32\.DirectoryTableBase 0x[0-9a-f]+ \(file offset 0x10\), PaeEnabled [01] \(file offset 0x5c\)\n/);
    });
  }
  // ELF32 cores of 32-bit guests: CR4.PAE in the CPU note chooses PAE or non-PAE paging.
  for (const paging of ['pae', 'non-pae'] as const) {
    const space = buildX86Space(x86Regions(trees), { paging, scatter: 9, selfMap: true });
    const cr4 = paging === 'pae' ? 1n << 5n : 1n << 4n;
    const core = file(`${paging}.elf`, writeElfCore({ ...space, entryOf: () => undefined } as AddressSpace, { producer: 'qemu', elfClass: 32, cr4 }).toBytes());
    it(`an ELF32 core of a ${paging} guest: decode with only --root, info names its paging and the x86 ABI`, async () => {
      for (const t of trees) await sameAsRegion([core], regions.get(t.name)!, t.root, argsOf(t), ['--abi', 'x86']);
      const info = await run(['info', core]);
      expect(info.code).toBe(0);
      expect(info.out).toMatch(/\nABI +x86\n/);
      expect(info.out).toContain(paging === 'pae' ? 'PAE 3-level paging' : '32-bit 2-level paging (no PAE)');
    });
  }
  // Raw images of 32-bit machines with no --dtb: the PAE PDPT (in the middle of its page) or the
  // non-PAE self-mapping page directory is found, confirmed by KUSER_SHARED_DATA at 0xffdf0000.
  for (const paging of ['pae', 'non-pae'] as const) {
    const kuser = { address: 0xffdf0000, bytes: Uint8Array.from([0, 0, 0, 0, 0, 0, 0xa0, 0x0f]) };
    const space = buildX86Space([...x86Regions(trees), kuser], { paging, scatter: 11, selfMap: true });
    const raw = file(`${paging}.raw`, writeRawPhysical32(space).toBytes());
    it(`a raw image of a ${paging} machine with no --dtb: decode, scan and info`, async () => {
      for (const t of trees) await sameAsRegion(['--physical', raw], regions.get(t.name)!, t.root, argsOf(t), ['--abi', 'x86']);
      const out = await scanRoots(['--physical', raw]);
      for (const t of trees) expect(out).toContain(`"address": "${hex(t.root)}"`);
      const info = await run(['info', '--physical', raw]);
      expect(info.code).toBe(0);
      expect(info.out).toMatch(/\nABI +x86\n/);
      const dtb = hex(space.dtb & (paging === 'pae' ? ~0x1fn : ~0xfffn));
      expect(info.out).toMatch(
        new RegExp(`\\nDTB +${dtb} from discovery: DTB ${dtb} \\(${paging}, ${paging === 'pae' ? 'PDPT scan in the page at 0x[0-9a-f]+000: PD3 self-map index 0x3, \\d+ kernel entries, ' : 'self-map scan at 0x[0-9a-f]+: self-map index 0x300, \\d+ kernel entries, '}KUSER_SHARED_DATA mapped\\)\\n`),
      );
    });
  }
  it('--abi x64 on a 32-bit dump is refused, naming what the dump is', async () => {
    const r = await run(['decode', dumps['PAE full'], '--root', hex(trees[0]!.root), '--abi', 'x64']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--abi x64: .*pae-full\.dmp is a 32-bit crash dump; its trees are x86/);
    oneLine(r.err);
  });
});

describe('VMware: a .vmem with its state file, or the state file given', () => {
  const TREES = standardTrees();
  const SPACE = standardSpace(TREES);
  const regions = new Map(TREES.map((t) => [t.name, writeRegion(DIR, t)]));
  const pair = writeVmware(SPACE, { cr3: [SPACE.dtb, SPACE.dtb | 0x3n] });
  const vmem = file('guest.vmem', pair.vmem!.toBytes());
  const vmss = file('guest.vmss', pair.state.toBytes());
  const embedded = file('alone.vmsn', writeVmware(SPACE, { embedded: true }).state.toBytes());
  for (const [kind, path] of [['.vmem', vmem], ['.vmss', vmss], ['.vmsn holding the memory', embedded]] as const) {
    for (const t of TREES) {
      it(`${kind}: decode ${t.name} with only --root`, async () => {
        await sameAsRegion([path], regions.get(t.name)!, t.root, t.args);
      });
    }
    it(`${kind}: scan finds the roots`, async () => {
      const out = await scanRoots([path]);
      for (const t of TREES) expect(out).toContain(`"address": "${hex(t.root)}"`);
    });
  }
  it("info shows the format, the CPUs' CR3s and the chosen one", async () => {
    const r = await run(['info', vmem]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\nformat +vmware /);
    expect(r.out).toMatch(/\nABI +x64\n/);
    expect(r.out).toMatch(/\nCPUs +2\n/);
    expect(r.out).toContain(`CR3 ${hex(SPACE.dtb)} `);
    expect(r.out).toContain(`CR3 ${hex(SPACE.dtb | 0x3n)} `);
    expect(r.out).toMatch(/\nCPU 0 +CR3 0x[0-9a-f]+ .*, chosen\n/);
  });
  it('a .vmem with no state file beside it is no capture: it needs --base or --physical', async () => {
    const alone = file('lonely.vmem', pair.vmem!.toBytes());
    const r = await run(['decode', alone, '--root', hex(TREES[0]!.root)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--base HEX is required/);
  });
});

describe('raw images and LiME with no --dtb: the DTB is found', () => {
  const TREES = standardTrees();
  const ROOT_PFN = 0x1b3;
  const SPACE = kernelSpace(ROOT_PFN, {}, TREES);
  const regions = new Map(TREES.map((t) => [t.name, writeRegion(DIR, t)]));
  const raw = file('memory.raw', writeRawPhysical(SPACE).toBytes());
  const lime = file('memory.lime', writeLime(SPACE, { ranges: 'frames' }).toBytes());
  const sources = { raw: ['--physical', raw], lime: [lime] } as const;
  for (const [kind, source] of Object.entries(sources)) {
    for (const t of TREES) {
      it(`${kind}: decode ${t.name} with only --root`, async () => {
        await sameAsRegion([...source], regions.get(t.name)!, t.root, t.args);
      });
    }
    it(`${kind}: scan finds the roots; info gives the DTB found and the evidence`, async () => {
      const out = await scanRoots([...source]);
      for (const t of TREES) expect(out).toContain(`"address": "${hex(t.root)}"`);
      const info = await run(['info', ...source]);
      expect(info.code).toBe(0);
      expect(info.out).toMatch(/\nABI +x64\n/);
      expect(info.out).toContain('x64 4-level paging');
      expect(info.out).toMatch(new RegExp(`\\nDTB +${hex(ROOT_PFN * PAGE_SIZE)} from discovery: DTB ${hex(ROOT_PFN * PAGE_SIZE)} \\(x64, self-map scan .*self-map index ${hex(SELF_MAP)}.*KUSER_SHARED_DATA mapped`));
    });
  }
  it('--dtb still wins over discovery', async () => {
    const t = TREES[0]!;
    const r = await run(['info', '--physical', raw, '--dtb', hex(ROOT_PFN * PAGE_SIZE)]);
    expect(r.out).toMatch(new RegExp(`\\nDTB +${hex(ROOT_PFN * PAGE_SIZE)} from --dtb: given\\n`));
    const wrong = await run(['decode', lime, '--dtb', hex(0x2000), '--root', hex(t.root), ...t.args]);
    expect(wrong.code).not.toBe(0);
  });
  it('an image with no page table in it: the search says so in one line (exit 3)', async () => {
    const zeros = file('zeros.raw', new Uint8Array(64 * PAGE_SIZE));
    const r = await run(['scan', '--physical', zeros]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/no kernel DirectoryTableBase found in .*: no page of it is a top-level page table that maps itself; give it with --dtb/);
    oneLine(r.err);
  });
  it('a progress bar on stderr for an image over 256 MiB when stderr is a terminal, erased when done', async () => {
    // A sparse 300 MiB image whose table is past the low windows: the full scan runs.
    const far = kernelSpace(0x11000, { physicalPages: (300 << 20) / PAGE_SIZE }, TREES);
    const big = file('big.raw', writeRawPhysical(far).toBytes());
    const r = await run(['info', '--physical', big], { errIsTty: true });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^\rfinding the DTB \[[#.]{30}\] \d+% \d+\/300 MiB/);
    expect(r.err.endsWith('\r\u001b[K')).toBe(true);
    expect(r.out).toMatch(new RegExp(`\\nDTB +${hex(0x11000 * PAGE_SIZE)} from discovery`));
  });
});

describe('refused formats: one line, exit 3, through every command', () => {
  const head = (bytes: number[] | string, size = 4 * PAGE_SIZE): Uint8Array => {
    const b = new Uint8Array(size);
    b.set(typeof bytes === 'string' ? [...bytes].map((c) => c.charCodeAt(0)) : bytes);
    return b;
  };
  const cases: [string, string, Uint8Array, RegExp][] = [
    ['kdump-compressed', 'vm.kdump', head('KDUMP   '), /kdump-compressed @0x0: .*vm\.kdump is a kdump-compressed dump .*capture it again as an ELF core/],
    ['makedumpfile flattened', 'vm.flat', head('makedumpfile\0\0\0\0'), /makedumpfile-flattened @0x0: .*makedumpfile -R only rearranges it/],
    ['hibernation', 'hiberfil.sys', head('HIBR'), /hibernation @0x0: .*is a Windows hibernation file .*WinPmem or DumpIt/],
    ['AVML', 'mem.avml', head([0x41, 0x56, 0x4d, 0x4c, 2, 0, 0, 0]), /AVML @0x0: .*avml-convert/],
  ];
  for (const [name, fname, bytes, says] of cases) {
    const path = file(fname, bytes);
    it(`${name}: decode, validate, hexdump, scan, info, diff, --physical, complete`, async () => {
      const argvs = [
        ['decode', path, '--root', '0x1000'],
        ['validate', path, '--root', '0x1000'],
        ['hexdump', path, '--root', '0x1000'],
        ['scan', path],
        ['info', path],
        ['diff', path, path, '--a-root', '0x1000', '--b-root', '0x1000'],
        ['decode', '--physical', path, '--root', '0x1000'],
        ['scan', path, '--base', '0x1000'],
      ];
      for (const argv of argvs) {
        const r = await run(argv);
        expect(r.code, argv.join(' ')).toBe(3);
        expect(r.err, argv.join(' ')).toMatch(says);
        oneLine(r.err);
      }
    });
  }
  it('a Hyper-V saved state is named by its extension when nothing else recognises it', async () => {
    const path = file('vm.vmrs', new Uint8Array(PAGE_SIZE).fill(7));
    const r = await run(['decode', path, '--root', '0x1000']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/Hyper-V saved state @0x0: .*vm\.vmrs is a Hyper-V saved state .*vm2dmp/);
    oneLine(r.err);
  });
});
