// `ndis-offload demo` failing midway (a full disk): the copies it made are taken back, the error is
// one line naming the file (exit 4), and a second run is not refused for the first one's leftovers.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const failAt = { n: -1 };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  let calls = 0;
  return {
    ...fs,
    copyFileSync: (src: string, dst: string, mode?: number) => {
      if (calls++ === failAt.n) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC', syscall: 'copyfile', path: dst });
      fs.copyFileSync(src, dst, mode);
    },
  };
});

const { main } = await import('../../src/cli/main.js');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

describe('ndis-offload demo on a disk that fills up', () => {
  it('takes back what it copied, says which file failed, and a second run succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-offload-demo-full-'));
    const names = readdirSync('fixtures').sort();
    failAt.n = 3;
    const r = await run('demo', dir);
    expect(r).toEqual({ code: 4, out: '', err: `ndis-offload: ${join(dir, names[3]!)}: no space left on the device\n` });
    expect(readdirSync(dir)).toEqual([]);
    failAt.n = -1;
    expect((await run('demo', dir)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(names);
  });
});
