// The command line on crash dumps and physical images: decode, validate and hexdump read trees
// through page tables and agree with the plain region; info prints the header; scan finds the
// roots; complete and encode --onto refuse; hostile dumps give one line, exit 3, a file offset.
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildAddressSpace, writeBitmapDump, writeFullDump, type WriterRegion } from '../../src/codec/dump-writer.js';
import { HDR } from '../../src/codec/dump.js';
import type { TreeDocument } from '../../src/tree/document.js';
import {
  CAPTURE_KINDS,
  type CaptureKind,
  HEADER,
  type PlacedTree,
  normalised,
  placeTree,
  standardSpace,
  standardTrees,
  writeCaptures,
  writeRegion,
} from '../support/dump-trees.js';

async function run(argv: string[], errIsTty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty, env: {} });
  return { code, out, err };
}

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const CAPTURES = writeCaptures(SPACE, 'ndis-cli-dumps-');
const DIR = CAPTURES.dir;
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const DTB = `0x${CAPTURES.dtb.toString(16)}`;
const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** The source arguments of a capture. */
const source = (kind: CaptureKind): string[] => (kind === 'raw' ? ['--physical', CAPTURES.files.raw, '--dtb', DTB] : [CAPTURES.files[kind]]);
const tree = (name: string): PlacedTree => TREES.find((t) => t.name === name)!;

/** One line on stderr, no stack trace. */
function oneLine(err: string): void {
  expect(err).not.toMatch(/\n\s+at /);
  expect(err.split('\n').filter(Boolean)).toHaveLength(1);
}

describe('decode, validate and hexdump on dumps and physical images', () => {
  const regions = new Map(TREES.map((t) => [t.name, writeRegion(DIR, t)]));

  for (const kind of CAPTURE_KINDS) {
    for (const t of TREES) {
      it(`${kind}: decode --json of ${t.name} is the region's document apart from base and offset`, async () => {
        const plain = await run(['decode', regions.get(t.name)!, '--base', hex(t.root), ...t.args, '--json']);
        expect(plain.code).toBe(0);
        const r = await run(['decode', ...source(kind), '--root', hex(t.root), ...t.args, '--json']);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        const got = JSON.parse(r.out) as TreeDocument;
        expect(got.base).toBeNull();
        expect(normalised(got)).toEqual(normalised(JSON.parse(plain.out) as TreeDocument));
      });
    }
  }

  it('decode prints the tree as text, straddling block included', async () => {
    const t = tree('sample-x64');
    const r = await run(['decode', CAPTURES.files.bitmap, '--root', hex(t.root), '--operation', 'initiate']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`├─ neighbor blocks[0] ${hex(t.root)}  linker`);
    expect(r.out).toContain('→ 192.168.1.20');
    expect(r.out).toContain('0 errors, 0 warnings');
  });

  for (const kind of CAPTURE_KINDS) {
    it(`${kind}: validate is clean on the sample, and names the problem of a wrong operation`, async () => {
      const t = tree('sample-x64');
      const ok = await run(['validate', ...source(kind), '--root', hex(t.root), '--operation', 'initiate']);
      expect(ok.code).toBe(0);
      expect(ok.out).toContain('no problems in the tree');
      const bad = await run(['validate', ...source(kind), '--root', hex(t.root), '--operation', 'query']);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(new RegExp(`warning STATUS_NOT_ALLOWED blocks\\[0\\] Status @${hex(t.root + 0x18n)}`));
    });

    it(`${kind}: hexdump labels the same bytes as the region's, offsets aside`, async () => {
      const t = tree('sample-x64');
      const strip = (text: string): string => text.replace(/^(0x[0-9a-f]+) (\+[0-9a-f]{6,}| {7}) /gm, '$1 ');
      const plain = await run(['hexdump', regions.get(t.name)!, '--base', hex(t.root), '--operation', 'initiate']);
      const r = await run(['hexdump', ...source(kind), '--root', hex(t.root), '--operation', 'initiate']);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      expect(strip(r.out)).toBe(strip(plain.out));
      expect(r.out).toContain('blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.SourceHandle'); // past the page boundary
    });
  }

  it('hexdump widens its offset column past 16 MiB, so the rows stay aligned', async () => {
    // The sample tree 17 MiB into a capture: its file offsets have 7 hex digits.
    const sample = readFileSync('fixtures/sample-x64.bin');
    const skip = 17 << 20;
    const bytes = new Uint8Array(skip + sample.length);
    bytes.set(sample, skip);
    const file = join(DIR, 'wide.bin');
    writeFileSync(file, bytes);
    const root = 0xffffc70a12340000n;
    const r = await run(['hexdump', file, '--base', hex(root - BigInt(skip)), '--root', hex(root), '--operation', 'initiate']);
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').filter((l) => l.startsWith('0x'));
    expect(rows.length).toBeGreaterThan(10);
    const offsets = rows.flatMap((l) => /^0x[0-9a-f]{16} \+([0-9a-f]+) /.exec(l)?.[1] ?? []);
    expect(offsets[0]).toBe(skip.toString(16));
    expect(new Set(offsets.map((o) => o.length))).toEqual(new Set([7]));
    // Every row's bytes start in the same column.
    expect(new Set(rows.map((l) => l.search(/  [0-9a-f]{2} /))).size).toBe(1);
  });

  it('a missing page: validate names its address, member and path, and goes on (exit 1)', async () => {
    const large = placeTree('large-x64');
    const page = (large.root & ~0xfffn) + 0x9000n;
    const space = standardSpace([large], { missing: [page] });
    const file = join(DIR, 'holed.dmp');
    writeBitmapDump(space).toFile(file);
    const r = await run(['validate', file, '--root', hex(large.root), ...large.args]);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n').filter((l) => l.startsWith('error '));
    expect(lines.length).toBeGreaterThan(0);
    const hits = lines.filter((l) => l.includes(`0x${page.toString(16)}`) || l.includes(`@0x${(page >> 12n).toString(16)}`));
    expect(hits.length).toBeGreaterThan(0);
    for (const l of hits) expect(l).toMatch(/^error (POINTER_OUTSIDE_IMAGE|BLOCK_TRUNCATED|STATE_TRUNCATED|ADDRESS_OUTSIDE_IMAGE) blocks\[\d+\]\S* (NextBlock|DependentBlockList|TCP_\w+|\*?\w+) @0x/);
    expect(r.out).toMatch(/not present|never mapped/);
    const d = await run(['decode', file, '--root', hex(large.root), ...large.args, '--json']);
    expect(d.code).toBe(0);
    expect((JSON.parse(d.out) as TreeDocument).blocks).toHaveLength(2);
  });
});

describe('info', () => {
  for (const kind of ['full', 'bitmap'] as const) {
    it(`${kind}: every header field, as text and as JSON`, async () => {
      const file = CAPTURES.files[kind];
      const r = await run(['info', file]);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      const size = statSync(file).size;
      for (const s of [
        `file                 ${file} (${size} bytes`,
        'signature            PAGEDU64',
        kind === 'full' ? 'dump type            1 (full memory dump)' : 'dump type            5 (bitmap dump, SDMP)',
        'OS build             22631 (free build)',
        'machine              0x8664 (x64)',
        'processors           8',
        'bugcheck             0x0000009f DRIVER_POWER_STATE_FAILURE',
        'parameters           0x0000000000000003 0xffffc70a0f6e2a40 0xfffff8034a000100 0xffffc70a12345000',
        'system time          2024-03-04T05:06:07.890Z',
        'up time              1h 2m 5s',
        `DTB                  0x${CAPTURES.dtb.toString(16).padStart(16, '0')} (PML4 at physical ${hex(CAPTURES.dtb & ~0xfffn)}; low 12 bits 0x1, the PCID or flags, ignored)`,
        'KdDebuggerDataBlock  0xfffff8034a000b20',
        'PsLoadedModuleList   0xfffff8034a22a2d0',
        'PsActiveProcessHead  0xfffff8034a21e080',
        'PfnDataBase          0xffffe80000000000',
        `physical memory      2 runs, ${SPACE.runs.reduce((n, x) => n + x.pageCount, 0)} pages`,
        'PFN 0x1-0x9e  158 pages  (physical 0x1000, 632 KiB)',
        `pages stored         ${kind === 'full' ? SPACE.runs.reduce((n, x) => n + x.pageCount, 0) : SPACE.frames.size} (`,
        'comment              ndis-offload test dump',
        'warnings             none',
      ]) {
        expect(r.out).toContain(s);
      }
      if (kind === 'bitmap') expect(r.out).toMatch(/bitmap               \d+ bits, \d+ present, first page at file offset 0x[0-9a-f]+000\n/);

      const j = await run(['info', file, '--json']);
      expect(j.code).toBe(0);
      const info = JSON.parse(j.out) as Record<string, unknown>;
      expect(info).toMatchObject({
        file,
        fileSize: size,
        signature: 'PAGEDU64',
        dumpType: kind === 'full' ? 1 : 5,
        dumpTypeName: kind === 'full' ? 'full memory dump' : 'bitmap dump',
        majorVersion: 15,
        checkedBuild: false,
        osBuild: HEADER.minorVersion,
        machine: '0x8664',
        machineName: 'x64',
        processors: 8,
        bugCheck: { code: '0x0000009f', name: 'DRIVER_POWER_STATE_FAILURE', parameters: ['0x0000000000000003', '0xffffc70a0f6e2a40', '0xfffff8034a000100', '0xffffc70a12345000'] },
        systemTime: '2024-03-04T05:06:07.890Z',
        systemUpTimeSeconds: 3725,
        directoryTableBase: `0x${CAPTURES.dtb.toString(16).padStart(16, '0')}`,
        requiredDumpSpace: String(size),
        physicalMemory: { numberOfPages: String(SPACE.runs.reduce((n, x) => n + x.pageCount, 0)), runs: SPACE.runs.map((x) => ({ basePage: hex(BigInt(x.basePage)), pageCount: String(x.pageCount) })) },
        comment: 'ndis-offload test dump',
        warnings: [],
      });
      expect(info.bitmap === null).toBe(kind === 'full');
    });
  }

  it('reports a truncated dump and a DirectoryTableBase the dump does not store as warnings', async () => {
    const full = readFileSync(CAPTURES.files.full);
    const cut = join(DIR, 'cut.dmp');
    writeFileSync(cut, full.subarray(0, full.length - 0x10000));
    const r = await run(['info', cut, '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { warnings: string[] }).warnings.join('\n')).toMatch(/truncated/);
    const noDtb = Buffer.from(full);
    noDtb.writeBigUInt64LE(0x7fff000n, HDR.DirectoryTableBase);
    const f = join(DIR, 'nodtb.dmp');
    writeFileSync(f, noDtb);
    const t = await run(['info', f]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/warnings +.*DirectoryTableBase 0x7fff000 is not in the dump/);
  });

  it('a file that is not a dump: exit 3, one line', async () => {
    const r = await run(['info', 'fixtures/sample-x64.bin']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/sample-x64\.bin: dump @0x0: not a Windows kernel crash dump/);
    oneLine(r.err);
  });
});

describe('scan', () => {
  for (const kind of CAPTURE_KINDS) {
    it(`${kind}: finds every tree's root, best first, as text and JSON`, async () => {
      const j = await run(['scan', ...source(kind), '--json']);
      expect(j.err).toBe('');
      expect(j.code).toBe(0);
      const { candidates } = JSON.parse(j.out) as { candidates: { address: string; blocks: number; layers: Record<string, number>; roles: Record<string, number>; score: number }[] };
      expect(new Set(candidates.slice(0, TREES.length).map((c) => c.address))).toEqual(new Set(TREES.map((t) => `0x${t.root.toString(16).padStart(16, '0')}`)));
      const sample = candidates.find((c) => BigInt(c.address) === tree('sample-x64').root)!;
      expect(sample).toMatchObject({ blocks: 10, layers: { neighbor: 2, path: 3, tcp: 5 }, roles: { placeholder: 1, linker: 1, 'new-offload': 8 } });
      expect(Object.keys(sample)).toEqual(['address', 'blocks', 'layers', 'roles', 'score']);
      const text = await run(['scan', ...source(kind), '--limit', '2']);
      expect(text.code).toBe(0);
      const lines = text.out.trim().split('\n');
      expect(lines[0]).toMatch(/^root +blocks +neighbor +path +tcp +placeholder +linker +new-offload +score$/);
      expect(lines).toHaveLength(4);
      expect(lines[1]).toContain(candidates[0]!.address);
      expect(lines[1]).toMatch(new RegExp(` ${candidates[0]!.blocks} .* ${candidates[0]!.score}$`));
      expect(lines[3]).toMatch(/roots, best first \(\d+ more: --limit \d+\)/);
    });
  }

  it('a region with --base, and x86 regions', async () => {
    const r = await run(['scan', 'fixtures/sample-x64.bin', '--base', '0xffffc70a12340000', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { candidates: { address: string }[] }).candidates[0]!.address).toBe('0xffffc70a12340000');
    const x86 = await run(['scan', 'fixtures/initiate-x86.bin', '--base', '0x8a400000', '--abi', 'x86', '--json']);
    expect((JSON.parse(x86.out) as { candidates: { address: string; blocks: number }[] }).candidates[0]).toMatchObject({ address: '0x8a400000', blocks: 10 });
  });

  it('nothing found: exit 1', async () => {
    const f = join(DIR, 'zeros.bin');
    writeFileSync(f, new Uint8Array(8192));
    const r = await run(['scan', f, '--base', '0xffffc70a00000000']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('no plausible offload state tree');
  });

  it('draws a progress bar on a terminal for sources over 256 MiB, never otherwise', async () => {
    // 150 x 2 MiB kernel pages (300 MiB mapped), every RAM page stored: a sparse bitmap dump.
    const sample = placeTree('sample-x64');
    const regions: WriterRegion[] = Array.from({ length: 150 }, (_, i) => ({ address: 0xffffc70b00000000n + BigInt(i) * 0x200000n, bytes: new Uint8Array([1]), pageSize: 0x200000 as const }));
    regions.push({ address: sample.root, bytes: sample.bytes });
    const space = buildAddressSpace(regions, { physicalPages: 0x100 + 151 * 512 + 0x1000 });
    const big = join(DIR, 'big.dmp');
    writeBitmapDump(space, { storeAll: true }).toFile(big);
    const tty = await run(['scan', big, '--limit', '1'], true);
    expect(tty.code).toBe(0);
    expect(tty.err).toMatch(/^\rscanning \[[#.]{30}\] \d+% \d+\/30\d MiB/);
    expect(tty.err).toContain('\rscanning [##############################] 100%');
    expect(tty.err.endsWith('\r\u001b[K')).toBe(true);
    expect(tty.out).toContain(hex(sample.root));
    expect((await run(['scan', big, '--limit', '1'], false)).err).toBe('');
    expect((await run(['scan', CAPTURES.files.bitmap, '--limit', '1'], true)).err).toBe('');
  });
});

describe('refusals and hostile dumps: one line, documented exit code', () => {
  const sample = tree('sample-x64');
  const root = hex(sample.root);
  const bitmap = CAPTURES.files.bitmap;

  it('complete and encode --onto refuse dumps and physical images (exit 2), leaving them untouched', async () => {
    const copy = join(DIR, 'copy.dmp');
    copyFileSync(bitmap, copy);
    const before = readFileSync(copy);
    for (const argv of [
      ['complete', copy, '--root', root, '--operation', 'initiate'],
      ['complete', copy, '--base', root, '--operation', 'initiate'],
      ['complete', '--physical', CAPTURES.files.raw, '--dtb', DTB, '--root', root, '--operation', 'initiate'],
      ['encode', 'fixtures/sample-x64.json', '--onto', copy, '--base', root, '-o', join(DIR, 'x.bin')],
      ['encode', 'fixtures/sample-x64.json', '--physical', CAPTURES.files.raw, '--dtb', DTB, '-o', join(DIR, 'y.bin')],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/read-only here/);
      oneLine(r.err);
    }
    expect(readFileSync(copy).equals(before)).toBe(true);
  });

  const usage: { name: string; argv: string[]; says: RegExp }[] = [
    { name: '--abi x86 on a 64-bit dump', argv: ['decode', bitmap, '--root', root, '--abi', 'x86'], says: /--abi x86: .*bitmap\.dmp is a 64-bit crash dump/ },
    { name: '--abi x86 on a physical image', argv: ['scan', '--physical', CAPTURES.files.raw, '--dtb', DTB, '--abi', 'x86'], says: /--abi x86: .* 64-bit physical image/ },
    { name: '--base with a dump', argv: ['decode', bitmap, '--base', root], says: /is a crash dump: .*--base does not apply/ },
    { name: 'no --root for a dump', argv: ['hexdump', bitmap], says: /--root HEX is required/ },
    { name: '--physical with IMAGE', argv: ['decode', 'fixtures/sample-x64.bin', '--physical', CAPTURES.files.raw, '--dtb', DTB], says: /give one source/ },
    { name: '--physical on a dump', argv: ['decode', '--physical', bitmap, '--dtb', DTB, '--root', root], says: /is a crash dump, not a raw physical image/ },
    { name: 'a DTB beyond the physical image', argv: ['decode', '--physical', CAPTURES.files.raw, '--dtb', '0x7fffffff000', '--root', root], says: /DirectoryTableBase 0x7fffffff000 is not in raw physical memory image/ },
    { name: '--dtb on a region', argv: ['decode', 'fixtures/sample-x64.bin', '--base', root, '--dtb', DTB], says: /--dtb applies to crash dumps and --physical images/ },
    { name: 'a bad --limit', argv: ['scan', bitmap, '--limit', '0'], says: /--limit: '0' is not a positive integer/ },
  ];
  for (const c of usage) {
    it(`usage: ${c.name} (exit 2)`, async () => {
      const r = await run(c.argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(c.says);
      oneLine(r.err);
      expect(r.out).toBe('');
    });
  }

  it('files that cannot be read: exit 4, naming the file', async () => {
    for (const argv of [
      ['info', join(DIR, 'nope.dmp')],
      ['decode', '--physical', join(DIR, 'nope.raw'), '--dtb', DTB, '--root', root],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(4);
      expect(r.err).toMatch(/ndis-offload: \/.*nope\.(dmp|raw): no such file or folder/);
      oneLine(r.err);
    }
  });

  // Hostile headers: a DumpError naming the file and the file offset of the field at fault.
  const full = readFileSync(CAPTURES.files.full);
  const hostile = (name: string, patch: (b: Buffer) => Buffer): string => {
    const f = join(DIR, `${name}.dmp`);
    writeFileSync(f, patch(Buffer.from(full)));
    return f;
  };
  const cases: { name: string; file: string; says: RegExp }[] = [
    { name: 'a truncated header', file: hostile('short', (b) => b.subarray(0, 0x100)), says: /dump @0x100: not a complete crash dump header: the file ends after 256 bytes/ },
    { name: 'a 32-bit dump', file: hostile('dump32', (b) => (b.write('DUMP', 4, 'latin1'), b)), says: /dump @0x20: MachineImageType 0x[0-9a-f]+ is not x86 \(0x14c\): only x86 paging is read from a 32-bit dump/ },
    { name: 'a minidump', file: hostile('mini', (b) => (b.write('MDMP', 0, 'latin1'), b)), says: /dump @0x0: a user-mode minidump/ },
    { name: 'an unsupported dump type', file: hostile('type3', (b) => (b.writeUInt32LE(3, HDR.DumpType), b)), says: /dump @0xf98: unsupported dump type 3 \(header-only dump\)/ },
    { name: 'too many runs', file: hostile('runs', (b) => (b.writeUInt32LE(1000, HDR.NumberOfRuns), b)), says: /dump @0x88: NumberOfRuns 1000/ },
    { name: 'a DTB outside the dump', file: hostile('dtb', (b) => (b.writeBigUInt64LE(0x7fff000n, HDR.DirectoryTableBase), b)), says: /dump @0x10: DirectoryTableBase 0x7fff000 is not in the dump/ },
    { name: 'not x64', file: hostile('arm', (b) => (b.writeUInt32LE(0xaa64, HDR.MachineImageType), b)), says: /dump @0x30: machine type 0xaa64 \(ARM64\)/ },
  ];
  for (const c of cases) {
    it(`hostile: ${c.name} (exit 3, file offset in one line)`, async () => {
      for (const command of ['decode', 'validate', 'hexdump', 'scan']) {
        const r = await run([command, c.file, ...(command === 'scan' ? [] : ['--root', root])]);
        expect(r.code, command).toBe(3);
        expect(r.err).toContain(`ndis-offload: ${c.file}: dump @0x`);
        expect(r.err).toMatch(c.says);
        oneLine(r.err);
        expect(r.out).toBe('');
      }
    });
  }

  it('a truncated body still decodes what it stores, with a warning on stderr', async () => {
    const space = buildAddressSpace([{ address: sample.root, bytes: sample.bytes }], { scatter: 3 });
    const bytes = writeFullDump(space).toBytes();
    const cut = join(DIR, 'truncated-body.dmp');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 0x1000));
    const r = await run(['decode', cut, '--root', root, '--operation', 'initiate', '--json']);
    expect(r.err).toMatch(/^ndis-offload: warning: .*truncated-body\.dmp: truncated dump/);
    oneLine(r.err);
  });
});
