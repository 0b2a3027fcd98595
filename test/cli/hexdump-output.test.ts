// hexdump's output: columns that line up with colour on or off (cells padded as plain text, then
// coloured), an ASCII column, and a --json form whose bytes are the capture's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HexdumpJson } from '../../src/tree/hexdump.js';
import { main } from '../../src/cli/main.js';

const SAMPLE = 'fixtures/sample-x64.bin';
const BASE = 0xffffc70a12340000n;
const SAMPLE_ARGS = ['hexdump', SAMPLE, '--base', `0x${BASE.toString(16)}`, '--operation', 'initiate'];

async function run(argv: string[], tty = false, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: tty, env });
  return { code, out, err };
}

// biome-ignore lint: the escape character is the point
const ESCAPES = /\u001b\[[0-9;]*m/g;
const strip = (s: string): string => s.replace(ESCAPES, '');
const cyan = (s: string): string => `\u001b[36m${s}\u001b[0m`;
const dim = (s: string): string => `\u001b[2m${s}\u001b[0m`;
const red = (s: string): string => `\u001b[31m${s}\u001b[0m`;
const yellow = (s: string): string => `\u001b[33m${s}\u001b[0m`;

/** Where the label starts in a row: address (18), offset (7), bytes (47), ASCII (18), and the gaps. */
const LABEL_COLUMN = 18 + 1 + 7 + 2 + 47 + 2 + 18 + 2;

describe('hexdump text: exact rows, colour off and on', () => {
  it('the sample, without colour: hex, ASCII, label, the gap between structures', async () => {
    const r = await run(SAMPLE_ARGS);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(498); // 496 rows, the gap line, the final newline
    expect(lines.slice(0, 4)).toEqual([
      '0xffffc70a12340000 +000000  04                                               |.|                 blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type',
      '0xffffc70a12340001 +000001  00                                               |.|                 blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Revision',
      '0xffffc70a12340002 +000002  98 00                                            |..|                blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Size',
      '0xffffc70a12340004 +000004  00 00 00 00                                      |....|              blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST padding',
    ]);
    expect(lines.slice(370, 383)).toEqual([
      '0xffffc70a123407d8 +0007d8  00 15 5d 4a 1b 2c 00 00 00 00 00 00 00 00 00 00  |..]J.,..........|  blocks[1] NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress',
      '0xffffc70a123407e8          00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|',
      '0xffffc70a123407f8 +0007f8  14 00 00 00                                      |....|              blocks[1] NEIGHBOR_OFFLOAD_STATE_CONST.VlanId',
      '0xffffc70a123407fc +0007fc  2c 00 00 00                                      |,...|              blocks[1] NEIGHBOR_OFFLOAD_STATE_CACHED.Header.Length',
      '0xffffc70a12340800 +000800  00 00 00 00                                      |....|              blocks[1] NEIGHBOR_OFFLOAD_STATE_CACHED.Header.RecognizedOptions',
      '0xffffc70a12340804 +000804  00 1a 2b 3c 4d 5e 00 00 00 00 00 00 00 00 00 00  |..+<M^..........|  blocks[1] NEIGHBOR_OFFLOAD_STATE_CACHED.DlDestinationAddress',
      '0xffffc70a12340814          00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|',
      '0xffffc70a12340824 +000824  30 75 00 00                                      |0u..|              blocks[1] NEIGHBOR_OFFLOAD_STATE_CACHED.HostReachabilityDelta',
      '0xffffc70a12340828 +000828  0c 00 00 00                                      |....|              blocks[1] NEIGHBOR_OFFLOAD_STATE_DELEGATED.Header.Length',
      '0xffffc70a1234082c +00082c  00 00 00 00                                      |....|              blocks[1] NEIGHBOR_OFFLOAD_STATE_DELEGATED.Header.RecognizedOptions',
      '0xffffc70a12340830 +000830  00 00 00 00                                      |....|              blocks[1] NEIGHBOR_OFFLOAD_STATE_DELEGATED.NicReachabilityDelta',
      '                   … 4 bytes not part of the tree',
      '0xffffc70a12340838 +000838  00 00 00 00 00 00 00 00                          |........|          blocks[1] *MiniportOffloadContext',
    ]);
    expect(lines[496]).toBe(
      '0xffffc70a12340a78 +000a78  00 00 00 00 00 00 00 00                          |........|          blocks[1].dependents[0].dependents[0] *MiniportOffloadContext',
    );
    expect(r.out).not.toContain('\u001b[');
  });

  it('the sample on a terminal: the same cells, coloured after padding', async () => {
    const r = await run(SAMPLE_ARGS, true);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`${cyan('0xffffc70a12340000')} ${dim('+000000')}  04                                               |.|                 blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type`);
    // padding: bytes, ASCII and label dim, the spaces after them plain
    expect(lines[3]).toBe(
      `${cyan('0xffffc70a12340004')} ${dim('+000004')}  ${dim('00 00 00 00')}${' '.repeat(36)}  ${dim('|....|')}${' '.repeat(12)}  ${dim('blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST padding')}`,
    );
    // a continuation row: no offset, no label, nothing trailing
    expect(lines[371]).toBe(`${cyan('0xffffc70a123407e8')}          00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|`);
    expect(lines[381]).toBe(`${' '.repeat(19)}${dim('… 4 bytes not part of the tree')}`);
  });

  it('colour changes no visible character: stripped of its escapes, the terminal output is the plain one', async () => {
    const plain = await run(SAMPLE_ARGS);
    const coloured = await run(SAMPLE_ARGS, true);
    expect(coloured.out).toContain('\u001b[2m');
    expect(strip(coloured.out)).toBe(plain.out);
    // NO_COLOR on a terminal is the plain output
    expect((await run(SAMPLE_ARGS, true, { NO_COLOR: '1' })).out).toBe(plain.out);
  });

  it('every row, coloured or not, has its columns at the same visible positions', async () => {
    for (const [argv, tty] of [
      [SAMPLE_ARGS, false],
      [SAMPLE_ARGS, true],
      [['hexdump', 'fixtures/broken-outside.bin', '--base', '0xffffc70a40000000'], true],
      [['hexdump', 'fixtures/every-state-type-ndis60-x64.bin', '--base', '0xffffc70a24000000', '--ndis', '6.0'], true],
    ] as const) {
      const rows = strip((await run([...argv], tty)).out)
        .split('\n')
        .filter((l) => l.startsWith('0x'));
      expect(rows.length).toBeGreaterThan(40);
      for (const row of rows) {
        expect(row).toMatch(/^0x[0-9a-f]{16} (\+[0-9a-f]{6}| {7})  (?=[0-9a-f ]{47}  \|)((?:[0-9a-f]{2} )*[0-9a-f]{2}) *  \|[ -~]{1,16}\|/);
        const n = row.slice(28, 28 + 47).trim().split(' ').length;
        // one ASCII character per byte, between bars
        expect(row.slice(28 + 47, 28 + 47 + 2 + n + 2)).toMatch(new RegExp(`^  \\|[ -~]{${n}}\\|$`));
        expect(row).not.toMatch(/\s$/); // padding only where a column follows
        if (row.length > LABEL_COLUMN) {
          expect(row.slice(LABEL_COLUMN - 2, LABEL_COLUMN)).toBe('  ');
          expect(row[LABEL_COLUMN]).toBe('b'); // blocks[…]
        }
      }
    }
  });

  it('the ASCII column: printable ASCII as itself, every other byte as a dot', async () => {
    const r = await run(SAMPLE_ARGS);
    const bytes = readFileSync(SAMPLE);
    for (const row of r.out.split('\n').filter((l) => /^0x\S+ \+/.test(l))) {
      const at = Number(BigInt(row.slice(0, 18)) - BASE);
      const values = row.slice(28, 28 + 47).trim().split(' ').map((h) => parseInt(h, 16));
      expect(values).toEqual([...bytes.subarray(at, at + values.length)]);
      expect(row.slice(28 + 47 + 3, 28 + 47 + 3 + values.length)).toBe(values.map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.')).join(''));
    }
    expect(r.out).toContain('|@*n.....|'); // 40 2a 6e 0f …: three printable bytes
  });

  it('diagnostics: errors red, warnings yellow, after the rows', async () => {
    const r = await run(['hexdump', 'fixtures/broken-cycle.bin', '--base', '0xffffc70a40000000'], true);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe(
      red('error CYCLE blocks[0].dependents[0].dependents[2] @0xffffc70a40000190: NextBlock leads back to the block at blocks[0].dependents[0].dependents[0]: a cycle; not followed again'),
    );
    const w = await run(['hexdump', 'fixtures/broken-header-size.bin', '--base', '0xffffc70a40000000'], true);
    expect(w.out.trimEnd().split('\n').at(-1)).toBe(yellow('warning HEADER_SIZE_MISMATCH blocks[0] @0xffffc70a40000000: Header.Size is 76, the block is 152 bytes on x64 (76 is the x86 block size: try --abi x86)'));
  });
});

describe('hexdump --json', () => {
  it('lists every labelled range with the bytes of the capture, which rebuild it', async () => {
    const r = await run([...SAMPLE_ARGS, '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const j = JSON.parse(r.out) as HexdumpJson;
    expect(j).toMatchObject({ format: 'ndis-offload-hexdump/1', abi: 'x64', ndis: '6.1', root: '0xffffc70a12340000', diagnostics: [] });
    expect(j.ranges[0]).toEqual({
      address: '0xffffc70a12340000',
      offset: 0,
      size: 1,
      path: 'blocks[0]',
      label: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type',
      structure: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST',
      member: 'Header.Type',
      padding: false,
      hex: '04',
      diagnostics: [],
    });
    expect(j.ranges.find((x) => x.address === '0xffffc70a12340004')).toMatchObject({ structure: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', member: null, padding: true, hex: '00000000' });
    expect(j.ranges.find((x) => x.address === '0xffffc70a12340098')).toMatchObject({ label: '*MiniportOffloadContext', structure: null, member: '*MiniportOffloadContext', hex: '402a6e0f0ac7ffff' });
    expect(j.ranges.find((x) => x.label.includes(' | '))).toMatchObject({ structure: 'TCP_OFFLOAD_STATE_CONST', member: 'SndWindScale | RcvWindScale', hex: '88' });

    // One range per labelled row of the text form, in the same order.
    const text = (await run(SAMPLE_ARGS)).out.split('\n').filter((l) => /^0x\S+ \+/.test(l));
    expect(j.ranges.map((x) => `${x.address} ${x.path} ${x.label}`)).toEqual(text.map((l) => `${l.slice(0, 18)} ${l.slice(LABEL_COLUMN)}`));

    // The bytes are the capture's, at the offset given; laid back down they rebuild it.
    const capture = readFileSync(SAMPLE);
    const rebuilt = Buffer.alloc(capture.length, 0xaa);
    for (const x of j.ranges) {
      expect(x.offset).toBe(Number(BigInt(x.address) - BASE));
      expect(x.hex).toHaveLength(x.size * 2);
      expect(x.hex).toBe(capture.subarray(x.offset!, x.offset! + x.size).toString('hex'));
      rebuilt.set(Buffer.from(x.hex!, 'hex'), x.offset!);
    }
    // Everything but the 4 bytes the text calls "not part of the tree" (0x834, the alignment gap before blocks[1]'s context).
    const untouched = [...rebuilt.keys()].filter((i) => rebuilt[i] === 0xaa && capture[i] !== 0xaa);
    expect(untouched).toEqual([0x834, 0x835, 0x836, 0x837]);
    rebuilt.fill(0, 0x834, 0x838);
    expect(rebuilt.equals(capture)).toBe(true);
  });

  it('from a crash dump: the offsets are in the dump file, and its bytes are there', async () => {
    const r = await run(['hexdump', 'fixtures/sample-x64.dmp', '--root', '0xffffc70a12340f80', '--operation', 'initiate', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as HexdumpJson;
    const dump = readFileSync('fixtures/sample-x64.dmp');
    const sample = (await run([...SAMPLE_ARGS, '--json']).then((s) => JSON.parse(s.out))) as HexdumpJson;
    // The same tree placed elsewhere: the same ranges, pointers aside.
    expect(j.ranges.map((x) => `${x.path} ${x.label} ${x.size}`)).toEqual(sample.ranges.map((x) => `${x.path} ${x.label} ${x.size}`));
    for (const x of j.ranges) {
      expect(x.offset).not.toBeNull(); // no range of the sample straddles a page
      expect(dump.subarray(x.offset!, x.offset! + x.size).toString('hex')).toBe(x.hex);
    }
  });

  it('gives each diagnostic to the range of its member, and lists them all', async () => {
    const r = await run(['hexdump', SAMPLE, '--base', `0x${BASE.toString(16)}`, '--operation', 'query', '--json']);
    const j = JSON.parse(r.out) as HexdumpJson;
    const given = j.ranges.flatMap((x) => x.diagnostics.map((d) => `${x.address} ${x.label}: ${d.code}`));
    expect(given).toEqual([
      '0xffffc70a12340018 NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status: STATUS_NOT_ALLOWED',
      // the context pointer and the state both start at 0x98: the diagnostic names the state's member
      '0xffffc70a12340098 NEIGHBOR_OFFLOAD_STATE_CONST.Header.Length: STATE_LENGTH_MISMATCH',
      '0xffffc70a123400b8 NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status: STATUS_NOT_ALLOWED',
      '0xffffc70a123400c4 NEIGHBOR_OFFLOAD_STATE_CACHED.Header.Length: STATE_LENGTH_MISMATCH',
      '0xffffc70a123400f0 NEIGHBOR_OFFLOAD_STATE_DELEGATED.Header.Length: STATE_LENGTH_MISMATCH',
      '0xffffc70a123402f8 NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status: STATUS_NOT_ALLOWED',
    ]);
    expect(j.diagnostics).toHaveLength(6);
    // A diagnostic at the block's address naming a member further on goes to that member.
    const h = JSON.parse((await run(['hexdump', 'fixtures/broken-header-size.bin', '--base', '0xffffc70a40000000', '--operation', 'initiate', '--json'])).out) as HexdumpJson;
    expect(h.ranges.filter((x) => x.diagnostics.length).map((x) => [x.label, x.diagnostics.map((d) => d.code)])).toEqual([['NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Size', ['HEADER_SIZE_MISMATCH']]]);
    // A block that could not be read has no range: its diagnostic is only in the list.
    const c = JSON.parse((await run(['hexdump', 'fixtures/broken-cycle.bin', '--base', '0xffffc70a40000000', '--json'])).out) as HexdumpJson;
    expect(c.diagnostics.map((d) => d.code)).toContain('CYCLE');
    expect(c.ranges.some((x) => x.diagnostics.some((d) => d.code === 'CYCLE'))).toBe(false);
  });

  it("docs/cli.md's example is an excerpt of what its command prints", async () => {
    const section = readFileSync('docs/cli.md', 'utf8').split(/^## /m).find((x) => x.startsWith('hexdump'))!;
    const command = /```sh\n(ndis-offload hexdump [^\n]*--json)\n```/.exec(section)![1]!;
    const excerpt = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as HexdumpJson;
    const r = await run(command.split(' ').slice(1));
    const j = JSON.parse(r.out) as HexdumpJson;
    const { ranges, diagnostics, ...head } = excerpt;
    expect(j).toMatchObject(head);
    expect(diagnostics).toEqual([]); // emptied, as the text says
    for (const x of ranges) expect(j.ranges).toContainEqual(x);
    // and the rows shown above it are rows of the sample's text form
    const rows = /```\n(0x[\s\S]*?)```/.exec(section)![1]!.trimEnd().split('\n');
    expect(rows.length).toBeGreaterThan(1);
    const text = (await run(SAMPLE_ARGS)).out.split('\n');
    for (const row of rows) expect(text).toContain(row);
  });

  it('is the same for a terminal: no colour in JSON', async () => {
    expect((await run([...SAMPLE_ARGS, '--json'], true)).out).toBe((await run([...SAMPLE_ARGS, '--json'])).out);
  });
});
