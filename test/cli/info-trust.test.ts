/**
 * What the command line says about captures can be trusted: no 64-bit value rounded in JSON, no
 * address masked to another page, no short file taken for a plain image, no control character
 * from a capture reaching the terminal, segments that touch read as one range.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeBitmapDump, writeFullDump } from '../../src/codec/dump-writer.js';
import { BMP, HDR } from '../../src/codec/dump.js';
import { HEADER, standardSpace, standardTrees } from '../support/dump-trees.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty: false, env: {} });
  return { code, out, err };
}

const DIR = mkdtempSync(join(tmpdir(), 'ndis-info-trust-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string): string => {
  const f = join(DIR, name);
  writeFileSync(f, bytes);
  return f;
};

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const FULL = writeFullDump(SPACE, HEADER).toBytes();
const BITMAP = writeBitmapDump(SPACE, HEADER).toBytes();
const patched = (bytes: Uint8Array, patch: (b: Buffer) => void): Buffer => {
  const b = Buffer.from(bytes);
  patch(b);
  return b;
};

/** Every number in a parsed JSON value: none may be an integer a JSON reader could round. */
function numbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) for (const x of v) numbers(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) numbers(x, out);
  return out;
}

describe('info --json: 64-bit values are strings', () => {
  it('counts and sizes in decimal, addresses and offsets in hex, exactly, however large', async () => {
    const huge = patched(BITMAP, (b) => {
      b.writeBigUInt64LE(0xffffffffffffffffn, HDR.RequiredDumpSpace);
      b.writeBigUInt64LE((1n << 60n) + 1n, HDR.NumberOfPages);
      b.writeBigUInt64LE((1n << 55n) + 3n, BMP.TotalPresentPages);
      b.writeBigUInt64LE(0xfedcba9876543210n, HDR.SystemUpTime);
    });
    const f = file('huge.dmp', huge);
    const r = await run(['info', f, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as Record<string, any>;
    expect(info.requiredDumpSpace).toBe('18446744073709551615');
    expect(info.physicalMemory.numberOfPages).toBe('1152921504606846977');
    expect(info.bitmap.totalPresentPages).toBe('36028797018963971');
    expect(info.systemUpTime).toBe(String(0xfedcba9876543210n));
    expect(info.pagesStored).toBe(String(SPACE.frames.size));
    expect(info.bitmap.bits).toBe(String(SPACE.physicalPages));
    expect(info.bitmap.firstPage).toMatch(/^0x[0-9a-f]+000$/);
    expect(info.physicalMemory.runs).toEqual(SPACE.runs.map((x) => ({ basePage: `0x${x.basePage.toString(16)}`, pageCount: String(x.pageCount) })));
    expect(info.warnings).toContain(`TotalPresentPages says 36028797018963971, the bitmap has ${SPACE.frames.size} bits set`);
    for (const n of numbers(info)) expect(Number.isSafeInteger(n) || !Number.isInteger(n), String(n)).toBe(true);
  });
});

describe('physical addresses with bits the hardware does not use', () => {
  const tree = TREES[0]!;
  const root = `0x${tree.root.toString(16)}`;

  it('--dtb with a bit above 51 is refused naming the value (exit 2), not masked to another page', async () => {
    const f = file('dtb-high.dmp', FULL);
    const dtb = SPACE.dtb | (1n << 52n);
    const r = await run(['decode', f, '--root', root, '--dtb', `0x${dtb.toString(16)}`]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `ndis-offload: DirectoryTableBase 0x${dtb.toString(16)} is not an x64 physical address: bits 52..63 are set (0x10000000000000); a physical address has at most 52 bits\n`,
    );
    expect(r.out).toBe('');
  });

  it('the low 12 bits of a CR3 (PCID, flags) name the same page: the tree decodes as without them', async () => {
    const f = file('dtb-flags.dmp', FULL);
    const plain = await run(['decode', f, '--root', root, '--dtb', `0x${(SPACE.dtb & ~0xfffn).toString(16)}`, '--json']);
    const flagged = await run(['decode', f, '--root', root, '--dtb', `0x${((SPACE.dtb & ~0xfffn) | 0xabcn).toString(16)}`, '--json']);
    expect(plain.code).toBe(0);
    expect(flagged.out).toBe(plain.out);
  });

  it("a dump whose DirectoryTableBase has a bit above 51: a DumpError at its offset, and a warning in info", async () => {
    const dtb = SPACE.dtb | (1n << 63n);
    const f = file('hdr-dtb-high.dmp', patched(FULL, (b) => b.writeBigUInt64LE(dtb, HDR.DirectoryTableBase)));
    const r = await run(['decode', f, '--root', root]);
    expect(r.code).toBe(3);
    expect(r.err).toBe(
      `ndis-offload: ${f}: dump @0x10: DirectoryTableBase 0x${dtb.toString(16)} is not an x64 physical address: bits 52..63 are set (0x8000000000000000); a physical address has at most 52 bits\n`,
    );
    const i = await run(['info', f]);
    expect(i.code).toBe(0);
    expect(i.out).toContain(`is not an x64 physical address: bits 52..63 are set (0x8000000000000000)`);
  });
});

describe('files that are not what they claim', () => {
  const complete = (name: string, bytes: Uint8Array | string): Promise<{ code: number; out: string; err: string }> =>
    run(['decode', file(name, bytes), '--root', '0xffffc70a12340000']);
  const cases: [string, Uint8Array | string, string][] = [
    ['empty.dmp', '', 'dump @0x0: not a complete crash dump header: the file is empty (a 64-bit dump header is 0x2000 bytes)'],
    ['short.dmp', 'abc', 'dump @0x3: not a complete crash dump header: the file ends after 3 bytes (a 64-bit dump header is 0x2000 bytes)'],
    ['pag.bin', 'PAG', 'dump @0x3: not a complete crash dump header: the file ends after 3 bytes (a 64-bit dump header is 0x2000 bytes)'],
    ['pagedu.bin', 'PAGEDU', 'dump @0x6: not a complete crash dump header: the file ends after 6 bytes (a 64-bit dump header is 0x2000 bytes)'],
    ['m.img', 'MDM', 'dump @0x3: not a complete crash dump header: the file ends after 3 bytes (a 64-bit dump header is 0x2000 bytes)'],
    ['header.raw', FULL.subarray(0, 108), 'dump @0x6c: not a complete crash dump header: the file ends after 108 bytes (a 64-bit dump header is 0x2000 bytes)'],
    ['sig-only.dmp', 'PAGEDU64', 'dump @0x8: not a complete crash dump header: the file ends after 8 bytes (a 64-bit dump header is 0x2000 bytes)'],
  ];
  for (const [name, bytes, says] of cases) {
    it(`${name} (${typeof bytes === 'string' ? JSON.stringify(bytes) : `${bytes.length} bytes of a dump`}): exit 3, one line`, async () => {
      const r = await complete(name, bytes);
      expect(r.code).toBe(3);
      expect(r.err).toBe(`ndis-offload: ${join(DIR, name)}: ${says}\n`);
      expect(r.out).toBe('');
    });
  }

  it('the name counts only where nothing else says what the file is: an empty *.dmp given as --physical is an empty file; given as IMAGE (complete too) a dump cut short', async () => {
    const f = file('empty-physical.dmp', '');
    const p = await run(['decode', '--physical', f, '--dtb', '0x1000', '--root', '0xffffc70a12340000']);
    expect([p.code, p.err]).toEqual([3, `ndis-offload: @0x0: ${f}: the file holds no complete 4 KiB page\n`]);
    const c = await run(['complete', f, '--base', '0x1000', '--operation', 'initiate']);
    // complete reads its IMAGE as every command does: a *.dmp name with no header is a dump cut short.
    expect([c.code, c.err]).toEqual([3, `ndis-offload: ${f}: dump @0x0: not a complete crash dump header: the file is empty (a 64-bit dump header is 0x2000 bytes)\n`]);
  });

  it('info says the same of a short file', async () => {
    const r = await run(['info', file('info-empty.dmp', '')]);
    expect([r.code, r.err]).toEqual([3, `ndis-offload: ${join(DIR, 'info-empty.dmp')}: dump @0x0: not a complete crash dump header: the file is empty (a 64-bit dump header is 0x2000 bytes)\n`]);
  });

  it('a region named *.dmp is a region: it decodes with --base, and without it the message says it is not a dump', async () => {
    const tree = TREES[0]!;
    const f = file('region.dmp', tree.bytes);
    const base = `0x${tree.root.toString(16)}`;
    const asDmp = await run(['decode', f, '--base', base, '--json']);
    const asBin = await run(['decode', file('region.bin', tree.bytes), '--base', base, '--json']);
    expect(asDmp.code).toBe(0);
    expect(asDmp.out).toBe(asBin.out);
    const r = await run(['decode', f]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`ndis-offload: ${f} is not a crash dump (it does not start with a PAGE signature): as a region of captured memory it needs --base HEX, the virtual address of its first byte\n`);
    // Not named .dmp: the usual message.
    expect((await run(['decode', join(DIR, 'region.bin')])).err).toBe(`ndis-offload: --base HEX is required: the virtual address of the first byte of ${join(DIR, 'region.bin')} (crash dumps need none)\n`);
  });
});

describe('text from the capture is escaped', () => {
  const HOSTILE = 'x\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\\end';
  const ESCAPED = 'x\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\x7f\\\\end';
  const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('a hostile comment: escaped in the text, exact in the JSON value, and neither output carries a control character', async () => {
    const f = file('hostile-comment.dmp', writeFullDump(SPACE, { ...HEADER, comment: HOSTILE }).toBytes());
    const t = await run(['info', f]);
    expect(t.code).toBe(0);
    expect(t.out).toContain(`\ncomment              ${ESCAPED}\n`);
    expect(t.out).not.toMatch(UNSAFE);
    const j = await run(['info', f, '--json']);
    expect(j.code).toBe(0);
    expect(j.out).not.toMatch(UNSAFE);
    expect(j.out).toContain('"comment": "x\\u001b]0;owned\\u0007\\u001b[2J\\u009b31m\\u007f\\\\end"');
    expect((JSON.parse(j.out) as { comment: string }).comment).toBe(HOSTILE);
  });

  it('a hostile signature in an error message is escaped too', async () => {
    const f = file('hostile-sig.dmp', patched(FULL, (b) => b.write('\x9b\x1b[2', 4, 'latin1')));
    const r = await run(['info', f]);
    expect(r.code).toBe(3);
    expect(r.err).toBe(`ndis-offload: ${f}: dump @0x4: not a 64-bit crash dump: ValidDump "\\x9b\\x1b[2" (expected "DU64")\n`);
    const s = await run(['info', file('hostile-page.dmp', patched(FULL, (b) => b.write('\x1b[1m', 0, 'latin1')))]);
    expect(s.err).toContain('not a Windows kernel crash dump: signature "\\x1b[1m" (expected "PAGE")');
    expect(r.err + s.err).not.toMatch(UNSAFE);
  });
});

describe('--segment files that touch are one address range', () => {
  const sample = new Uint8Array(readFileSync(new URL('../../fixtures/sample-x64.bin', import.meta.url)));
  const base = 0xffffc70a12340000n;
  const at = (k: number): string => `0x${(base + BigInt(k)).toString(16)}`;

  it('a tree cut into two files in the middle of a block validates and decodes as the one file', async () => {
    const whole = await run(['validate', file('whole.bin', sample), '--base', at(0), '--operation', 'initiate']);
    const cut = 200; // inside the second block
    const a = file('a.bin', sample.subarray(0, cut));
    const b = file('b.bin', sample.subarray(cut));
    const parts = await run(['validate', '--segment', `${b}@${at(cut)}`, '--segment', `${a}@${at(0)}`, '--root', at(0), '--operation', 'initiate']);
    expect(whole.code).toBe(0);
    expect(parts.code).toBe(0);
    expect(parts.out).toBe(whole.out);
    const text = await run(['decode', '--segment', `${a}@${at(0)}`, '--segment', `${b}@${at(cut)}`, '--root', at(0), '--operation', 'initiate']);
    expect(text.code).toBe(0);
    expect(text.out).toContain('blocks[0].dependents[0]');
    // scan looks across the seam: the same root, the same ten blocks.
    const scanWhole = await run(['scan', join(DIR, 'whole.bin'), '--base', at(0)]);
    const scanParts = await run(['scan', '--segment', `${a}@${at(0)}`, '--segment', `${b}@${at(cut)}`]);
    expect(scanWhole.out).toContain(`${at(0)}      10 `);
    expect(scanParts.out).toBe(scanWhole.out);
  });

  it('overlapping files that disagree: exit 3, naming both and the address', async () => {
    const a = file('ov-a.bin', sample.subarray(0, 300));
    const b = file('ov-b.bin', patched(sample.subarray(256, 600), (x) => (x[10]! ^= 0xff)));
    const r = await run(['decode', '--segment', `${a}@${at(0)}`, '--segment', `${b}@${at(256)}`, '--root', at(0)]);
    expect(r.code).toBe(3);
    const was = sample[266]!;
    const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;
    expect(r.err).toBe(`ndis-offload: segments ${a} and ${b} overlap and disagree at ${at(266)} (${hex2(was)} in ${a}, ${hex2(was ^ 0xff)} in ${b}): give segments that agree, or that do not overlap\n`);
  });
});

describe('error messages that quote the input', () => {
  it('never carry its control characters to the terminal, and stay one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-escape-'));
    const f = join(dir, 'tree.json');
    writeFileSync(f, '\u001b]0;pwned\u0007\n{');
    const r = await run(['encode', f, '-o', join(dir, 'out.bin')]);
    expect(r.code).toBe(3);
    expect(r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.err.split('\n')).toHaveLength(2); // one line and its newline
    expect(r.err).toContain('\\x1b');
  });
});
