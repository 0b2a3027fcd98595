// Every ```ts example of docs/api.md and the README runs (against the sources) and prints what its
// comments say; the library bundles for a browser with no Node built-in.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const examplesOf = (page: string): string[] => [...readFileSync(page, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const examples = examplesOf('docs/api.md');
const entry = resolve('src/index.ts');

describe('docs/api.md', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(4));
  const all = [...examples.map((source, i) => ({ name: `example ${i + 1}`, source })), ...examplesOf('README.md').map((source, i) => ({ name: `README.md example ${i + 1}`, source }))];
  all.forEach(({ name, source }) => {
    it(`${name} runs and prints what it says`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'ndis-api-'));
      const file = join(dir, 'example.ts');
      writeFileSync(file, source.replaceAll("from 'ndis-offload'", `from ${JSON.stringify(entry)}`));
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: process.cwd() });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // A comment line `// a b c` right after a console.log is the output it must print.
      const expected = [...source.matchAll(/console\.log\([^\n]*\n[ \t]*\/\/ ([^\n]+)/g)].map((m) => m[1]!.trim());
      for (const line of expected) expect(r.stdout).toContain(line);
    });
  });

  it('the library bundles for a browser without Node built-ins', async () => {
    const out = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(out.errors).toEqual([]);
    expect(out.outputFiles[0]!.text).not.toMatch(/from ["']node:/);
  });
});
