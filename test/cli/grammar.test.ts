/**
 * One grammar for every command: the same source options wherever a capture is read, each
 * command's own option table (an option it cannot honour is refused, never ignored), unknown
 * options and commands in one line with the closest names, `help COMMAND`, `-` for standard
 * input and output, statuses in hex with or without 0x, NDIS revisions and structure names as
 * users type them, and targets (--fail ADDRESS) that must match a block.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { X64, layoutOf } from '../../src/index.js';

const SAMPLE = 'fixtures/sample-x64.bin';
const DUMP = 'fixtures/sample-x64.dmp';
const BASE = '0xffffc70a12340000';
const BASE_N = 0xffffc70a12340000n;
const X86 = 'fixtures/initiate-x86.bin';
const X86_BASE = '0x8a400000';

interface Run {
  code: number;
  out: string;
  err: string;
  bytes: Uint8Array[];
}

async function run(argv: string[], stdin?: Uint8Array): Promise<Run> {
  let out = '';
  let err = '';
  const bytes: Uint8Array[] = [];
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    outBytes: (b) => bytes.push(b.slice()),
    ...(stdin ? { readStdin: () => stdin.slice() } : {}),
    stdoutIsTty: false,
    env: {},
  };
  const code = await main(argv, io);
  return { code, out, err, bytes };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ndis-offload-grammar-'));
const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
const offsetOf = (name: string): number => block.fields.find((f) => f.name === name)!.offset;

describe('unknown options and commands: one line, the closest names, where to get help', () => {
  const cases: [string[], string][] = [
    [['decode', SAMPLE, '--bsae', BASE], "decode: unknown option '--bsae' (did you mean --base?); see 'ndis-offload help decode'"],
    [['validate', SAMPLE, '--base', BASE, '--operaton', 'initiate'], "validate: unknown option '--operaton' (did you mean --operation?); see 'ndis-offload help validate'"],
    [['hexdump', SAMPLE, '--base', BASE, '--rot', BASE], "hexdump: unknown option '--rot' (did you mean --root?); see 'ndis-offload help hexdump'"],
    [['scan', DUMP, '--limt', '2'], "scan: unknown option '--limt' (did you mean --limit?); see 'ndis-offload help scan'"],
    [['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--fial', 'x'], "complete: unknown option '--fial' (did you mean --fail?); see 'ndis-offload help complete'"],
    [['diff', SAMPLE, SAMPLE, '--b-bsae', BASE], "diff: unknown option '--b-bsae' (did you mean --b-base or --a-base?); see 'ndis-offload help diff'"],
    [['layout', '--jsno'], "layout: unknown option '--jsno' (did you mean --json?); see 'ndis-offload help layout'"],
    [['export', '--fromat', 'ksy'], "export: unknown option '--fromat' (did you mean --format?); see 'ndis-offload help export'"],
    [['info', DUMP, '--jsn'], "info: unknown option '--jsn' (did you mean --json?); see 'ndis-offload help info'"],
    [['decode', SAMPLE, '--base', BASE, '--colour'], "decode: unknown option '--colour'; see 'ndis-offload help decode'"],
    [['decdoe', SAMPLE], "unknown command 'decdoe' (did you mean decode?); see 'ndis-offload help'"],
    [['frobnicate'], "unknown command 'frobnicate'; see 'ndis-offload help'"],
    [['help', 'hexdmup'], "unknown command 'hexdmup' (did you mean hexdump?); see 'ndis-offload help'"],
    // Given twice: the last one no longer silently wins.
    [['decode', SAMPLE, '--base', BASE, '--base', '0x1000'], `decode: --base given twice ('${BASE}' and '0x1000'): give it once; see 'ndis-offload help decode'`],
    [['decode', SAMPLE, '--base'], "decode: --base needs a value; see 'ndis-offload help decode'"],
    [['decode', SAMPLE, '--base', BASE, '--json=yes'], "decode: --json takes no value; see 'ndis-offload help decode'"],
    [['decode', SAMPLE, '--base', BASE, '--operation', 'initate'], "--operation: 'initate' is not one of initiate, query, update, invalidate, terminate; did you mean initiate?"],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`ndis-offload: ${message}\n`);
      expect(r.out).toBe('');
    });
  }

  it('help COMMAND prints the command help, help alone the main help', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const viaHelp = await run(['help', name]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.out).toBe((await run([name, '--help'])).out);
      expect(viaHelp.out).toMatch(new RegExp(`^Usage: ndis-offload ${name}`));
    }
    const main = await run(['help']);
    expect(main.code).toBe(0);
    expect(main.out).toBe((await run(['--help'])).out);
    expect(main.out).toContain("Run 'ndis-offload help COMMAND'");
  });

  it('every option a command help names is one the command knows', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      // The options a help lists: lines of its Options and Sources that start with one.
      const options = new Set([...command.help.matchAll(/^ {2}(?:-\w, )?--([a-z][a-z-]*[a-z])/gm)].map((m) => m[1]!));
      // A command without an option table (completion) has nothing to check.
      if (/^Options:$/m.test(command.help)) expect(options.size, name).toBeGreaterThan(0);
      for (const o of options) {
        const r = await run([name, `--${o}`]);
        expect(r.err, `${name} --${o}`).not.toMatch(/unknown option/);
      }
    }
  });
});

describe('the same source options on every command that reads a capture', () => {
  it('--abi and --ndis are source options: decode, validate, hexdump, scan, diff take them; unknown revisions are refused with the known ones', async () => {
    for (const argv of [
      ['decode', SAMPLE, '--base', BASE],
      ['validate', SAMPLE, '--base', BASE],
      ['hexdump', SAMPLE, '--base', BASE],
      ['diff', SAMPLE, SAMPLE, '--base', BASE],
      ['layout'],
      ['export', '--format', 'isf'],
    ]) {
      const r = await run([...argv, '--ndis', '6.2']);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toBe("ndis-offload: --ndis: unknown NDIS revision '6.2' (known: 6.0, 6.1)\n");
    }
    const x86 = await run(['decode', X86, '--base', X86_BASE, '--abi', 'x86', '--ndis', '6.0', '--json']);
    expect(x86.code).toBe(0);
    expect(JSON.parse(x86.out)).toMatchObject({ abi: 'x86', ndis: '6.0' });
  });

  it('a command refuses by name, with the reason, a source option it cannot honour', async () => {
    const cases: [string[], string][] = [
      [['scan', DUMP, '--ndis', '6.0'], '--ndis does not apply to scan: it accepts the state Lengths of every NDIS revision (give --ndis to decode)'],
      [['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--ndis', '6.0'], '--ndis does not apply to complete: the Status words lie where they lie in every NDIS revision'],
      [['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--dtb', '0x1000'], 'complete writes into a region capture (IMAGE --base HEX or --segment); --dtb reads a crash dump or physical image, which are read-only here'],
      [['export', '--format', 'ksy', '--segment', `${SAMPLE}@${BASE}`], "--segment does not apply to export: it reads no capture (the spec describes the structures; give --base HEX, the address of the capture's first byte)"],
      [['export', '--format', 'ksy', '--physical', 'x.raw'], "--physical does not apply to export: it reads no capture (the spec describes the structures; give --base HEX, the address of the capture's first byte)"],
      [['diff', SAMPLE, '--base', BASE, '--segment', `${SAMPLE}@${BASE}`], 'diff: --segment names one side: give --a-segment or --b-segment'],
      [['decode', '--segment', `${SAMPLE}@${BASE}`, '--base', BASE], '--base does not apply to --segment FILE@HEX: each segment names its own address'],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toBe(`ndis-offload: ${message}\n`);
    }
  });

  it('addresses beyond the ABI pointer width are refused: --base, --root, --segment, --fail, and a region past 4 GiB', async () => {
    const cases: [string[], string][] = [
      [['decode', X86, '--abi', 'x86', '--base', '0x18a400000'], '--base: 0x18a400000 does not fit a 32-bit x86 address (--abi x86)'],
      [['decode', X86, '--abi', 'x86', '--base', X86_BASE, '--root', '0x18a400000'], '--root: 0x18a400000 does not fit a 32-bit x86 address (--abi x86)'],
      [['scan', '--segment', `${X86}@0x1ffffffff`, '--abi', 'x86'], '--segment: 0x1ffffffff does not fit a 32-bit x86 address (--abi x86)'],
      [['complete', X86, '--abi', 'x86', '--base', X86_BASE, '--operation', 'initiate', '--fail', '0x18a400000=c0000001'], '--fail: 0x18a400000 does not fit a 32-bit x86 address (--abi x86)'],
      [['decode', X86, '--abi', 'x86', '--base', '0xffffff00'], `--base: ${X86}, ${statSync(X86).size} bytes at 0xffffff00, runs past the end of the 32-bit address space (--abi x86)`],
      [['diff', X86, X86, '--abi', 'x86', '--a-base', X86_BASE, '--b-base', '0x18a400000'], '--b-base: 0x18a400000 does not fit a 32-bit x86 address (--abi x86)'],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toBe(`ndis-offload: ${message}\n`);
    }
    // A --root that points at garbage (but fits) is still decoded: its diagnostics are the answer.
    const garbage = await run(['decode', SAMPLE, '--base', BASE, '--root', '0xffffc70a12340004']);
    expect(garbage.code).toBe(0);
    expect(garbage.out).toMatch(/error/);
  });

  it('structure names as WinDbg users type them, any case; an unknown one with the closest names', async () => {
    const want = (await run(['layout', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST'])).out;
    for (const name of ['_NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', 'ndis_miniport_offload_block_list', '_ndis_Miniport_Offload_Block_List']) {
      const r = await run(['layout', name]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(want);
    }
    const bad = await run(['layout', '_NDIS_MINIPORT_OFFLOAD_BLOCK_LST']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(
      "ndis-offload: unknown structure '_NDIS_MINIPORT_OFFLOAD_BLOCK_LST' (did you mean NDIS_MINIPORT_OFFLOAD_BLOCK_LIST or NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST?)\n",
    );
  });
});

describe('statuses on the command line', () => {
  it('take hex with or without 0x, like addresses', async () => {
    const outs: Buffer[] = [];
    for (const s of ['c0000001', '0xC0000001', 'NDIS_STATUS_FAILURE']) {
      const dir = tmp();
      const r = await run(['complete', SAMPLE, '--base', BASE, '--operation', 'update', '--status', s, '-o', join(dir, 'o.bin')]);
      expect(r.code, s).toBe(0);
      expect(r.out).toContain('9  NDIS_STATUS_FAILURE');
      outs.push(readFileSync(join(dir, 'o.bin')));
    }
    expect(outs[0]!.equals(outs[1]!)).toBe(true);
    expect(outs[0]!.equals(outs[2]!)).toBe(true);
  });

  it('a mistyped name is an unknown name with the closest known names', async () => {
    const r = await run(['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--status', 'NDIS_STATUS_FAILUER']);
    expect(r.code).toBe(2);
    expect(r.err).toBe("ndis-offload: --status: unknown NDIS_STATUS name 'NDIS_STATUS_FAILUER' (did you mean NDIS_STATUS_FAILURE?)\n");
    const f = await run(['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--fail', `${BASE}=NDIS_STATUS_SUCESS`]);
    expect(f.err).toMatch(/^ndis-offload: --fail: unknown NDIS_STATUS name 'NDIS_STATUS_SUCESS' \(did you mean NDIS_STATUS_SUCCESS/);
    const wide = await run(['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--status', '1c0000001']);
    expect(wide.err).toBe("ndis-offload: --status: '1c0000001' is more than 32 bits: an NDIS_STATUS is a 32-bit value\n");
  });
});

describe('targets that match nothing', () => {
  const TCP = BASE_N + 0x178n; // blocks[0].dependents[0].dependents[0]
  const hex = (a: bigint): string => `0x${a.toString(16)}`;

  it('complete --fail at an address where no block starts fails (exit 2), writes nothing, and names the nearest blocks', async () => {
    const dir = tmp();
    const image = join(dir, 'req.bin');
    copyFileSync(SAMPLE, image);
    const r = await run(['complete', image, '--base', BASE, '--operation', 'initiate', '--fail', `${hex(TCP + BigInt(offsetOf('Status')))}=NDIS_STATUS_FAILURE`]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'ndis-offload: --fail 0xffffc70a12340190: no block of the tree starts there (nearest: ' +
        "0xffffc70a12340178 blocks[0].dependents[0].dependents[0] (tcp, holds it at +0x18: give the block's own address); " +
        '0xffffc70a123400a0 blocks[0].dependents[0] (path, starts 0xf0 bytes before it); ' +
        '0xffffc70a123402e0 blocks[0].dependents[0].dependents[1] (tcp, starts 0x150 bytes after it)); nothing was written\n',
    );
    expect(readFileSync(image).equals(readFileSync(SAMPLE))).toBe(true);
    expect(readdirSync(dir)).toEqual(['req.bin']);
    // Outside the image, with -o: no output file.
    const out = join(dir, 'out.bin');
    const far = await run(['complete', image, '--base', BASE, '--operation', 'initiate', '--fail', '0xffffc70a12350000=c0000001', '-o', out]);
    expect(far.code).toBe(2);
    expect(far.err).toMatch(/^ndis-offload: --fail 0xffffc70a12350000: no block of the tree starts there \(nearest: 0xffffc70a12340918 blocks\[1\]\.dependents\[0\]\.dependents\[0\] \(tcp, starts 0xf6e8 bytes before it\);/);
    expect(existsSync(out)).toBe(false);
    // The address of a block: done, and that block alone fails.
    const ok = await run(['complete', image, '--base', BASE, '--operation', 'initiate', '--fail', `${hex(TCP)}=c0000001`]);
    expect(ok.code).toBe(0);
    const doc = JSON.parse((await run(['decode', image, '--base', BASE, '--operation', 'initiate', '--json'])).out);
    expect(doc.blocks[0].dependents[0].dependents[0].Status.name).toBe('NDIS_STATUS_FAILURE');
    expect(ok.out).toContain('1  NDIS_STATUS_FAILURE');
  });

  it('one address given twice is refused', async () => {
    const r = await run(['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--fail', `${hex(TCP)}=c0000001`, '--fail', `${hex(TCP)}=NDIS_STATUS_FAILURE`, '-o', join(tmp(), 'x')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('ndis-offload: --fail: 0xffffc70a12340178 is given twice: give each block one status\n');
  });
});

describe("'-' is standard input or output", () => {
  const sample = new Uint8Array(readFileSync(SAMPLE));

  it('IMAGE - reads standard input whole as a region', async () => {
    const viaStdin = await run(['decode', '-', '--base', BASE, '--json'], sample);
    expect(viaStdin.code).toBe(0);
    expect(viaStdin.out).toBe((await run(['decode', SAMPLE, '--base', BASE, '--json'])).out);
    const seg = await run(['scan', '--segment', `-@${BASE}`, '--json'], sample);
    expect(JSON.parse(seg.out).candidates[0]).toMatchObject({ address: BASE, blocks: 10 });
  });

  it('a crash dump or physical image on standard input is refused: a dump must be a seekable file', async () => {
    const dump = new Uint8Array(readFileSync(DUMP));
    for (const argv of [['decode', '-', '--root', BASE], ['scan', '-'], ['decode', '-', '--base', BASE]]) {
      const r = await run(argv, dump);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toBe("ndis-offload: standard input holds a crash dump, and a crash dump must be a seekable file: give its path instead of '-'\n");
    }
    const info = await run(['info', '-'], dump);
    expect(info.err).toBe("ndis-offload: a crash dump must be a seekable file: give its path, not '-' (standard input)\n");
    const phys = await run(['scan', '--physical', '-', '--dtb', '0x1000'], dump);
    expect(phys.err).toBe("ndis-offload: --physical: a physical memory image must be a seekable file: give its path, not '-' (standard input)\n");
    const twice = await run(['diff', '-', '-', '--base', BASE], sample);
    expect(twice.err).toBe("ndis-offload: diff: standard input ('-') can be read once: give one side as a file\n");
  });

  it("complete - needs -o; '-o -' writes the completed image on standard output and the summary on stderr", async () => {
    const r = await run(['complete', '-', '--base', BASE, '--operation', 'initiate'], sample);
    expect(r.code).toBe(2);
    expect(r.err).toBe("ndis-offload: complete: standard input ('-') cannot be rewritten in place: give -o OUT ('-o -' for standard output)\n");
    const dir = tmp();
    await run(['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '-o', join(dir, 'want.bin')]);
    const s = await run(['complete', '-', '--base', BASE, '--operation', 'initiate', '-o', '-'], sample);
    expect(s.code).toBe(0);
    expect(s.out).toBe('');
    expect(s.err).toMatch(/^completed initiate: 10 blocks \(1 placeholder, 1 linker, 8 new-offload\) -> standard output\n/);
    expect(Buffer.concat(s.bytes).equals(readFileSync(join(dir, 'want.bin')))).toBe(true);
  });

  it("export -o - is standard output", async () => {
    const r = await run(['export', '--format', 'ksy', '-o', '-']);
    expect(r.code).toBe(0);
    expect(r.out).toBe((await run(['export', '--format', 'ksy'])).out);
  });
});

describe('complete --segment', () => {
  // The sample cut in two segment files at the second neighbor (blocks[1] at +0x738).
  const cut = 0x738;
  const setup = (): { dir: string; first: string; second: string; argv: string[] } => {
    const dir = tmp();
    const bytes = readFileSync(SAMPLE);
    const first = join(dir, 'first.bin');
    const second = join(dir, 'second.bin');
    writeFileSync(first, bytes.subarray(0, cut));
    writeFileSync(second, bytes.subarray(cut));
    return { dir, first, second, argv: ['--segment', `${first}@${BASE}`, '--segment', `${second}@0x${(BASE_N + BigInt(cut)).toString(16)}`, '--root', BASE, '--operation', 'initiate'] };
  };

  it('rewrites each segment file that changed, in place, and gives the bytes a region completion gives', async () => {
    const { dir, first, second, argv } = setup();
    const update = [...argv.slice(0, -1), 'update', '--status', 'NDIS_STATUS_FAILURE'];
    const r = await run(['complete', ...update]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`-> 2 of 2 segment files rewritten (${first}, ${second})\n`);
    await run(['complete', SAMPLE, '--base', BASE, '--operation', 'update', '--status', 'NDIS_STATUS_FAILURE', '-o', join(dir, 'whole.bin')]);
    expect(Buffer.concat([readFileSync(first), readFileSync(second)]).equals(readFileSync(join(dir, 'whole.bin')))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['first.bin', 'second.bin', 'whole.bin']);
  });

  it('leaves a segment file whose bytes did not change as it was (not even replaced)', async () => {
    const { first, second, argv } = setup();
    const inode = statSync(second).ino;
    // initiate writes SUCCESS, which the second neighbor's blocks already hold.
    const r = await run(['complete', ...argv]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`-> 1 of 2 segment files rewritten (${first})\n`);
    expect(statSync(second).ino).toBe(inode);
  });

  it('-o with several segments names an existing folder; anything else is refused', async () => {
    const { first, argv } = setup();
    const folder = tmp();
    const r = await run(['complete', ...argv, '-o', folder]);
    expect(r.code).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['first.bin', 'second.bin']);
    expect(readFileSync(first).equals(readFileSync(SAMPLE).subarray(0, cut))).toBe(true); // the input is untouched
    const notFolder = await run(['complete', ...argv, '-o', join(folder, 'x.bin')]);
    expect(notFolder.code).toBe(2);
    expect(notFolder.err).toBe(`ndis-offload: -o ${join(folder, 'x.bin')}: with several segments, -o names an existing folder, where each segment is written under its file's name\n`);
    const stdout = await run(['complete', ...argv, '-o', '-']);
    expect(stdout.err).toBe('ndis-offload: -o -: several segments cannot go to standard output: give -o FOLDER\n');
  });

  it('--root is required with segments', async () => {
    const { argv } = setup();
    const r = await run(['complete', ...argv.filter((a, i) => a !== '--root' && argv[i - 1] !== '--root')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('ndis-offload: --root HEX is required with --segment: the address of the root block\n');
  });
});

describe('diff: each side its own source', () => {
  it('--a-/--b- options name one side; options without a side apply to both', async () => {
    const mixed = await run(['diff', DUMP, SAMPLE, '--a-root', '0xffffc70a12340f80', '--b-base', BASE]);
    expect(mixed.code).toBe(1);
    expect(mixed.out).toContain('34 fields differ, 0 blocks in one capture only');
    const sameBase = await run(['diff', DUMP, SAMPLE, '--base', BASE]);
    expect(sameBase.code).toBe(2);
    expect(sameBase.err).toBe(`ndis-offload: ${DUMP} is a crash dump: its page tables give the addresses, so --base does not apply (give --root HEX)\n`);
    const aBase = await run(['diff', DUMP, SAMPLE, '--a-base', BASE]);
    expect(aBase.err).toBe(`ndis-offload: ${DUMP} is a crash dump: its page tables give the addresses, so --a-base does not apply (give --root HEX)\n`);
    const segments = await run(['diff', '--a-segment', `${SAMPLE}@${BASE}`, SAMPLE, '--b-base', BASE]);
    expect(segments.code).toBe(0);
    expect(segments.out).toBe('no differences\n');
    const count = await run(['diff', '--a-segment', `${SAMPLE}@${BASE}`, SAMPLE, SAMPLE, '--b-base', BASE]);
    expect(count.err).toBe('ndis-offload: expected one capture for side B, got 2\n');
  });

  it("says '1 field differs' and '1 block', and '(absent)' for a member one side lacks, never 'undefined'", async () => {
    const dir = tmp();
    const changed = join(dir, 'after.bin');
    const bytes = readFileSync(SAMPLE);
    // blocks[1].dependents[0] (the path at +0x840) loses its one TCP dependent.
    bytes.fill(0, 0x840 + offsetOf('DependentBlockList'), 0x840 + offsetOf('DependentBlockList') + 8);
    writeFileSync(changed, bytes);
    const r = await run(['diff', SAMPLE, changed, '--base', BASE, '--operation', 'initiate']);
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      'blocks[1].dependents[0] 0xffffc70a12340840\n' +
        '  DependentBlockList: 0xffffc70a12340918 -> 0x0000000000000000\n' +
        `- blocks[1].dependents[0].dependents[0] (only in ${SAMPLE})\n` +
        '1 field differs, 1 block in one capture only\n',
    );
    const ndis = await run(['diff', SAMPLE, SAMPLE, '--base', BASE, '--a-ndis', '6.0', '--operation', 'initiate']);
    expect(ndis.out).toContain('  state.TCP_OFFLOAD_STATE_DELEGATED.DWnd: (absent) -> 0\n');
    expect(ndis.out).not.toContain('undefined');
  });
});

describe('small things', () => {
  it("scan: '1 root; decode it'", async () => {
    const r = await run(['scan', DUMP]);
    expect(r.out.split('\n').at(-2)).toBe('1 root; decode it with --root ADDRESS');
  });
});
