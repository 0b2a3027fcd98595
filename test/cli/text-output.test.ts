/**
 * decode's and validate's text: counts that count everything (summaries included), plurals, the
 * width of the terminal, the brief view and the options that choose it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { blockOffsets, encodeTree } from '../../src/index.js';
import { X64 } from '../../src/layout/abi.js';
import { continuation, visibleLength, wrapLine } from '../../src/cli/format-tree.js';
import { fcParams } from '../support/arbitraries.js';

const SAMPLE = 'fixtures/sample-x64.bin';
const BASE = '0xffffc70a12340000';

async function run(env: NodeJS.ProcessEnv, tty: boolean, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: tty, env });
  return { code, out, err };
}
const plain = (...argv: string[]): ReturnType<typeof run> => run({}, false, ...argv);

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ndis-offload-text-'));

/** A chain of `n` neighbor blocks with state, written to a file; `breakLast`: the last block's Header.Size is 7. */
function chainFile(n: number, breakLast: boolean): { file: string; base: string } {
  const enc = encodeTree({
    abi: 'x64',
    blocks: Array.from({ length: n }, () => ({ role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: {} } })),
  });
  const bytes = enc.bytes.slice();
  if (breakLast) {
    const o = blockOffsets(X64);
    const dv = new DataView(bytes.buffer);
    let at = 0;
    for (let i = 1; i < n; i++) at = Number(dv.getBigUint64(at + o.next, true) - enc.base);
    dv.setUint16(at + o.header + 2, 7, true);
  }
  const file = join(tmp(), 'chain.bin');
  writeFileSync(file, bytes);
  return { file, base: `0x${enc.base.toString(16)}` };
}

describe('counts that count everything', () => {
  it('the issue: a HEADER_SIZE_MISMATCH after 1,500 notes is reported, counted and fails validate', async () => {
    const { file, base } = chainFile(1500, true);
    const v = await plain('validate', file, '--base', base);
    expect(v.code).toBe(1);
    expect(v.out).toContain('warning HEADER_SIZE_MISMATCH blocks[1499] Header.Size');
    expect(v.out).toContain('info STATE_INFERRED ×1490 (blocks[10] to blocks[1499]) blocks[10] @');
    expect(v.out.trimEnd().split('\n').pop()).toBe('1 problem (1 warning) in the tree; 1500 notes');
    const d = await plain('decode', file, '--base', base, '--full');
    expect(d.out.trimEnd().split('\n').pop()).toBe('1500 blocks; 0 errors, 1 warning, 1500 notes');
  });

  it('plurals: 1 block, 1 error, 1 note', async () => {
    const one = encodeTree({ abi: 'x64', blocks: [{ role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: {} }, DependentBlockList: '0x10' }] });
    const bytes = one.bytes.slice();
    new DataView(bytes.buffer).setBigUint64(blockOffsets(X64).dependent, 0x10n, true);
    const file = join(tmp(), 'one.bin');
    writeFileSync(file, bytes);
    const base = `0x${one.base.toString(16)}`;
    const d = await plain('decode', file, '--base', base);
    expect(d.out.trimEnd().split('\n').pop()).toBe('1 block; 1 error, 0 warnings, 1 note');
    const v = await plain('validate', file, '--base', base);
    expect(v.out.trimEnd().split('\n').pop()).toBe('1 problem (1 error) in the tree; 1 note');
    const clean = await plain('validate', SAMPLE, '--base', BASE, '--operation', 'initiate');
    expect(clean.out).toBe('no problems in the tree\n');
  });
});

describe('the width of the terminal', () => {
  /** The text without colour, guide lines and blanks: what wrapping must not change (a word longer than the room may be split). */
  const words = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '').replace(/[\s│├└─]+/g, '');

  it('80 columns when stdout is not a terminal and COLUMNS is not set; nothing lost in the wrapping', async () => {
    const narrow = await plain('decode', SAMPLE, '--base', BASE);
    const lines = narrow.out.trimEnd().split('\n');
    expect(Math.max(...lines.map(visibleLength))).toBeLessThanOrEqual(80);
    expect(lines.some((l) => l.length > 60)).toBe(true);
    const wide = await run({ COLUMNS: '1000' }, false, 'decode', SAMPLE, '--base', BASE);
    expect(Math.max(...wide.out.split('\n').map(visibleLength))).toBeGreaterThan(80);
    expect(words(narrow.out)).toEqual(words(wide.out));
  });

  it('COLUMNS, with colour on: every line fits, every escape sequence whole, and the continuation stays under the value', async () => {
    const r = await run({ COLUMNS: '60' }, true, 'decode', SAMPLE, '--base', BASE, '--operation', 'query');
    const lines = r.out.trimEnd().split('\n');
    expect(r.out).toContain('\u001b[');
    for (const line of lines) {
      expect(visibleLength(line)).toBeLessThanOrEqual(60);
      // An ESC is always the start of a whole SGR sequence.
      expect(line.replace(/\u001b\[[0-9;]*m/g, '')).not.toContain('\u001b');
    }
    const wide = await run({ COLUMNS: '1000' }, true, 'decode', SAMPLE, '--base', BASE, '--operation', 'query');
    expect(words(r.out)).toEqual(words(wide.out));
    // The Status line of blocks[0] and its continuation, under the value column.
    const at = lines.findIndex((l) => l.includes('+0x018') && l.includes('Status'));
    expect(lines[at + 1]!.replace(/\u001b\[[0-9;]*m/g, '')).toMatch(/^│ {2}│ {2}\S/);
    const narrow = await run({ COLUMNS: '100' }, true, 'decode', SAMPLE, '--base', BASE, '--operation', 'query');
    const wrapped = narrow.out.split('\n');
    const status = wrapped.findIndex((l) => l.includes('+0x018') && l.includes('Status'));
    expect(wrapped[status + 1]!.replace(/\u001b\[[0-9;]*m/g, '')).toMatch(/^│ {2}│ {35}◀ STATUS_NOT_ALLOWED/);
  });

  it('wrapLine: any text with escapes fits, loses no character, never splits an escape and closes colour at a break', () => {
    const piece = fc.oneof(
      fc.constantFrom('\u001b[31m', '\u001b[2m', '\u001b[0m', ' ', '  ', '→', '│'),
      fc.stringMatching(/^[a-z0-9]{1,30}$/),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), fc.constantFrom('', '│  ', '      '), (pieces, width, cont) => {
        const line = pieces.join('');
        const out = wrapLine(line, width, cont);
        const strip = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');
        for (const l of out) {
          expect(visibleLength(l)).toBeLessThanOrEqual(width);
          expect(strip(l)).not.toContain('\u001b');
        }
        const prefix = continuation(cont, width);
        const text = out.map((l, i) => (i === 0 ? strip(l) : strip(l).slice(prefix.length))).join('');
        // Only spaces go (at a break): every other character is there, in order.
        expect(text.replace(/ /g, '')).toBe(strip(line).replace(/ /g, ''));
        // A line that leaves colour open at a break closes it.
        for (const l of out.slice(0, -1)) {
          const last = l.lastIndexOf('\u001b[');
          if (last >= 0) expect(l.slice(last)).toMatch(/^\u001b\[0m/);
        }
      }),
      fcParams({ numRuns: 500 }),
    );
  });
});

describe('--brief and --full', () => {
  it('--brief: a line per block with layer, address, role, Type, Status and the endpoints, ports in host order', async () => {
    const r = await run({ COLUMNS: '200' }, false, 'decode', SAMPLE, '--base', BASE, '--operation', 'initiate', '--brief');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`NDIS offload state tree · x64 · NDIS 6.1 · root 0xffffc70a12340000 · operation: initiate
├─ neighbor 0xffffc70a12340000 linker NeighborOffloadState OFFLOAD_PARTIAL_SUCCESS
│  ├─ path 0xffffc70a123400a0 new-offload Ip4OffloadState OFFLOAD_PARTIAL_SUCCESS 192.168.1.20 → 192.168.1.10
│  │  ├─ tcp 0xffffc70a12340178 new-offload TcpOffloadState SUCCESS 192.168.1.20:49721 → 192.168.1.10:445 Established
│  │  ├─ tcp 0xffffc70a123402e0 new-offload TcpOffloadState OFFLOAD_TCP_ENTRIES 192.168.1.20:49722 → 192.168.1.10:3389 Established
│  │  └─ tcp 0xffffc70a12340448 placeholder unknown (0) SUCCESS
│  └─ path 0xffffc70a123404e0 new-offload Ip6OffloadState SUCCESS fe80::215:5dff:fe4a:1b2c → fe80::1
│     └─ tcp 0xffffc70a123405d0 new-offload TcpOffloadState SUCCESS [fe80::215:5dff:fe4a:1b2c]:50101 → [fe80::1]:443 Established
└─ neighbor 0xffffc70a12340738 new-offload NeighborOffloadState SUCCESS 00-15-5d-4a-1b-2c vlan 20 → 00-1a-2b-3c-4d-5e
   └─ path 0xffffc70a12340840 new-offload Ip4OffloadState SUCCESS 10.20.0.5 → 10.20.0.1
      └─ tcp 0xffffc70a12340918 new-offload TcpOffloadState SUCCESS 10.20.0.5:50400 → 10.20.0.1:1433 Established
10 blocks; 0 errors, 0 warnings, 0 notes
`);
  });

  it('--brief keeps the errors and warnings, with their messages, under their block', async () => {
    const r = await run({ COLUMNS: '1000' }, false, 'decode', SAMPLE, '--base', BASE, '--operation', 'query', '--brief');
    const lines = r.out.split('\n');
    // query: state after every linker; the sample, an initiate capture, has none there: those are other bytes.
    expect(lines[1]).toMatch(/^├─ neighbor 0xffffc70a12340000 linker NeighborOffloadState OFFLOAD_PARTIAL_SUCCESS /);
    expect(lines[2]).toBe('│  │   ◀ STATUS_NOT_ALLOWED: Status NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS is not one a target may write to complete query');
  });

  it('brief is the default over 200 blocks, and says so; --full shows everything', async () => {
    const { file, base } = chainFile(201, false);
    const brief = await plain('decode', file, '--base', base);
    expect(brief.out.trimEnd().split('\n').slice(-2).join('\n')).toBe('201 blocks; 0 errors, 0 warnings, 201 notes (brief view of a tree over 200\nblocks: --full shows every member and note)');
    const lines = (await run({ COLUMNS: '200' }, false, 'decode', file, '--base', base)).out.trimEnd().split('\n');
    // The title, a line per block, the summary.
    expect(lines.length).toBe(1 + 201 + 1);
    expect(lines[1]).toBe(`├─ neighbor ${base} new-offload NeighborOffloadConstState SUCCESS 00-00-00-00-00-00`);
    const full = await plain('decode', file, '--base', base, '--full');
    expect(full.out).toContain('+0x000 Header.Type');
    expect(full.out.trimEnd().split('\n').pop()).toBe('201 blocks; 0 errors, 0 warnings, 201 notes');
    // 200 blocks: full.
    const small = chainFile(200, false);
    expect((await plain('decode', small.file, '--base', small.base)).out).toContain('+0x000 Header.Type');
  });

  it('refused: --brief with --full, either with --json, and on the commands that print no tree', async () => {
    const both = await plain('decode', SAMPLE, '--base', BASE, '--brief', '--full');
    expect([both.code, both.err]).toEqual([2, 'ndis-offload: --brief and --full: give one (--brief: a line per block; --full: every member)\n']);
    for (const view of ['--brief', '--full']) {
      const r = await plain('decode', SAMPLE, '--base', BASE, view, '--json');
      expect([r.code, r.err]).toEqual([2, `ndis-offload: ${view} is for the text tree; --json prints the whole document\n`]);
      for (const command of ['validate', 'hexdump']) expect((await plain(command, SAMPLE, '--base', BASE, view)).code).toBe(2);
      expect(await plain('decode', SAMPLE, '--base', BASE, `${view}=yes`)).toEqual({ code: 2, out: '', err: `ndis-offload: ${view} takes no value\n` });
    }
  });
});
