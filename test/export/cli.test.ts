// `ndis-offload export`: the spec on stdout or written atomically with -o, and typed usage errors.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { EXPORT_FORMATS, exportSpec } from '../../src/export/index.js';
import { X64, X86 } from '../../src/layout/abi.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

describe('ndis-offload export', () => {
  it('prints each format on stdout, the same text as exportSpec, for the ABI and revision asked', async () => {
    for (const format of EXPORT_FORMATS) {
      const r = await run('export', '--format', format, '--abi', 'x86', '--ndis', '6.0');
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      expect(r.out).toBe(exportSpec(format, X86, '6.0'));
    }
    expect((await run('export', '--format', 'isf')).out).toBe(exportSpec('isf', X64, '6.1'));
  });

  it('writes OUT atomically with -o, silently, and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-offload-export-'));
    const out = join(dir, 'ndis_offload.ksy');
    const r = await run('export', '--format', 'ksy', '--base', '0xffffc70a12340000', '-o', out);
    expect(r).toEqual({ code: 0, out: '', err: '' });
    expect(readFileSync(out, 'utf8')).toBe(exportSpec('ksy', X64, '6.1', { base: 0xffffc70a12340000n }));
    expect(readdirSync(dir)).toEqual(['ndis_offload.ksy']);
    const again = await run('export', '--format', 'hexpat', '--base', 'ffffc70a`12340000', '--out', join(dir, 'p.hexpat'));
    expect(again.code).toBe(0);
    expect(readFileSync(join(dir, 'p.hexpat'), 'utf8')).toContain('return (0xffffc70a << 32) | 0x12340000;');
  });

  it('usage errors exit 2 with one line naming the argument; a missing folder exits 4', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['export'], /--format is required/],
      [['export', '--format', 'yaml'], /--format: 'yaml' is not a format/],
      [['export', '--format', 'ksy', '--abi', 'arm64'], /unknown ABI 'arm64'/],
      [['export', '--format', 'ksy', '--ndis', '5.0'], /--ndis: unknown NDIS revision '5.0' \(known: 6.0, 6.1\)/],
      [['export', '--format', 'ksy', '--base', 'zz'], /--base: 'zz' is not a hexadecimal address/],
      [['export', '--format', 'ksy', '--abi', 'x86', '--base', '0x100000000'], /does not fit a 32-bit x86 address/],
      [['export', '--format', 'isf', '--base', '0x1000'], /a symbol table has no base address/],
      [['export', '--format', 'ksy', 'extra'], /takes no arguments/],
      [['export', '--format', 'ksy', '--bogus'], /bogus/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect({ argv, code: r.code, out: r.out }).toEqual({ argv, code: 2, out: '' });
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const missing = join(tmpdir(), 'ndis-offload-no-such-folder', 'x.ksy');
    const r = await run('export', '--format', 'ksy', '-o', missing);
    expect(r.code).toBe(4);
    expect(existsSync(missing)).toBe(false);
  });

  it('has help with a usage line and examples', async () => {
    const r = await run('export', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: ndis-offload export --format ksy\|hexpat\|isf/);
    expect(r.out).toContain('Examples:');
  });
});
