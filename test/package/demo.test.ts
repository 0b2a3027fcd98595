// `ndis-offload demo [DIR]`: the shipped samples, byte for byte, into DIR; the commands it suggests
// work on them; it never overwrites a file (and then writes nothing); anything else it is given is refused.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ndis-offload-demo-'));
const samples = readdirSync('fixtures').sort();

describe('ndis-offload demo', () => {
  it('copies every sample of the package into a new DIR, byte for byte, and says what to try', async () => {
    const dir = join(tmp(), 'samples');
    const r = await run('demo', dir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(samples);
    for (const f of samples) expect(readFileSync(join(dir, f)).equals(readFileSync(join('fixtures', f))), f).toBe(true);
    expect(r.out).toBe(
      `wrote ${samples.length} sample files to ${dir}/ (NAME.bin captures, NAME.json their documents, sample-x64.dmp a crash dump, sample-x64.lime, .core and .vmem + .vmss a LiME capture, a QEMU ELF core and a VMware capture)\n` +
        'try:\n' +
        `  ndis-offload decode ${dir}/sample-x64.bin --base 0xffffc70a12340000 --operation initiate\n` +
        `  ndis-offload validate ${dir}/broken-cycle.bin --base 0xffffc70a40000000\n` +
        `  ndis-offload info ${dir}/sample-x64.dmp\n` +
        `  ndis-offload scan ${dir}/sample-x64.dmp\n`,
    );
  });

  it('the commands it suggests run on what it wrote (validate finds the cycle it is there for)', async () => {
    const dir = tmp();
    const r = await run('demo', `${dir}/`);
    expect(r.code).toBe(0);
    const tries = r.out.split('\n').filter((l) => l.startsWith('  ndis-offload '));
    expect(tries).toHaveLength(4);
    const codes: number[] = [];
    for (const line of tries) {
      const res = await run(...line.trim().split(/\s+/).slice(1));
      expect(res.err, line).toBe('');
      codes.push(res.code);
    }
    expect(codes).toEqual([0, 1, 0, 0]);
  });

  it('writes into an existing empty folder', async () => {
    const dir = tmp();
    expect((await run('demo', dir)).code).toBe(0);
    expect(readdirSync(dir)).toHaveLength(samples.length);
  });

  it('never overwrites a file: one sample already there and nothing is written (exit 4, the path named)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'sample-x64.bin'), 'mine');
    const r = await run('demo', dir);
    expect(r.code).toBe(4);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `ndis-offload: ${join(dir, 'sample-x64.bin')}: already exists; demo never overwrites a file and wrote nothing (give another DIR)\n`,
    );
    expect(readdirSync(dir)).toEqual(['sample-x64.bin']);
    expect(readFileSync(join(dir, 'sample-x64.bin'), 'utf8')).toBe('mine');
  });

  it('a second run over the same DIR is refused and counts what is there', async () => {
    const dir = tmp();
    await run('demo', dir);
    const r = await run('demo', dir);
    expect(r.code).toBe(4);
    expect(r.err).toBe(
      `ndis-offload: ${join(dir, samples[0]!)}: already exists and ${samples.length - 1} more of the ${samples.length} samples; demo never overwrites a file and wrote nothing (give another DIR)\n`,
    );
  });

  it('refuses a second DIR, an option it does not have, and "-" (it writes files, not a stream)', async () => {
    const dir = tmp();
    expect(await run('demo', join(dir, 'a'), join(dir, 'b'))).toEqual({
      code: 2,
      out: '',
      err: `ndis-offload: expected at most one DIR, got 2: ${join(dir, 'a')} ${join(dir, 'b')}\n`,
    });
    expect(existsSync(join(dir, 'a'))).toBe(false);
    const opt = await run('demo', '--force', dir);
    expect(opt.code).toBe(2);
    expect(opt.err).toMatch(/^ndis-offload: .*--force/);
    expect(await run('demo', '-')).toEqual({ code: 2, out: '', err: "ndis-offload: DIR: '-' is not a folder name\n" });
  });

  it('a DIR that is a file is an i/o error naming it', async () => {
    const file = join(tmp(), 'plain');
    writeFileSync(file, 'x');
    const r = await run('demo', file);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`ndis-offload: ${file}: a part of the path is not a folder\n`);
  });

  it('has help, and is listed in the main help', async () => {
    const r = await run('demo', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: ndis-offload demo [DIR]');
    expect((await run('--help')).out).toMatch(/^ {2}demo +write the sample captures the examples use into DIR \(default: fixtures\)$/m);
  });
});
