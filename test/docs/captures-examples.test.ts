// Every ```ts example of docs/captures.md runs (against the sources) and prints what its
// comments say, as test/docs/api-examples.test.ts does for docs/api.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const page = readFileSync('docs/captures.md', 'utf8');
const examples = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const entry = resolve('src/index.ts');

describe('docs/captures.md', () => {
  it('has examples', () => expect(examples.length).toBe(8));
  examples.forEach((source, i) => {
    it(`example ${i + 1} runs and prints what it says`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'ndis-captures-doc-'));
      try {
        const file = join(dir, 'example.ts');
        writeFileSync(file, source.replaceAll("from 'ndis-offload'", `from ${JSON.stringify(entry)}`));
        const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: process.cwd() });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        // A comment line `// a b c` right after a console.log is the output it must print.
        const expected = [...source.matchAll(/console\.log\([^\n]*\n\/\/ ([^\n]+)/g)].map((m) => m[1]!.trim());
        expect(expected.length).toBeGreaterThan(0);
        for (const line of expected) expect(r.stdout).toContain(line);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
