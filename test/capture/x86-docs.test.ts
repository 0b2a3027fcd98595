// Every ```ts example of docs/x86-captures.md runs (against the sources) and prints what its
// comments say, as test/docs/api-examples.test.ts does for docs/api.md. Until src/capture/index.ts
// exports the x86 modules, the examples' 'ndis-offload' is the library plus those two modules.
// The bundled sample they read is what scripts/x86-fixture.ts writes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_DUMP32, buildSampleDump32 } from '../support/x86-dumps.js';

const page = readFileSync('docs/x86-captures.md', 'utf8');
const examples = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const DIR = mkdtempSync(join(tmpdir(), 'ndis-x86-docs-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const entry = join(DIR, 'entry.ts');
writeFileSync(
  entry,
  ['src/index.ts', 'src/capture/sources/dump32.ts', 'src/capture/address-spaces/x86-paging.ts'].map((f) => `export * from ${JSON.stringify(resolve(f))};`).join('\n'),
);

describe('docs/x86-captures.md', () => {
  it(`${SAMPLE_DUMP32.file} is what scripts/x86-fixture.ts writes`, () => {
    expect(Buffer.from(buildSampleDump32()).equals(readFileSync(SAMPLE_DUMP32.file)), `${SAMPLE_DUMP32.file} is stale: run npx tsx scripts/x86-fixture.ts`).toBe(true);
  });

  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(1));
  examples.forEach((source, i) => {
    it(`example ${i + 1} runs and prints what it says`, () => {
      const file = join(DIR, `example-${i}.ts`);
      writeFileSync(file, source.replaceAll("from 'ndis-offload'", `from ${JSON.stringify(entry)}`));
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: process.cwd() });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const expected = [...source.matchAll(/console\.log\([^\n]*\n\/\/ ([^\n]+)/g)].map((m) => m[1]!.trim());
      expect(expected.length).toBeGreaterThanOrEqual(3);
      for (const line of expected) expect(r.stdout).toContain(line);
    });
  });
});
