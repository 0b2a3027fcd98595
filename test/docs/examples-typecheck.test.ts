// Every ```ts example of the README and docs/*.md type-checks, strictly, against the sources
// ('ndis-offload' mapped to src/index.ts): one tsc run over all of them, each example its own file
// named after its page and position, so that an error says which example is wrong.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const pages = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Each ```ts block of each page, with the file name it is checked under. */
export function tsExamples(): { page: string; file: string; source: string }[] {
  return pages.flatMap((page) =>
    [...readFileSync(page, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
      page,
      file: `${page.replace(/[/.]/g, '-')}-${i + 1}.ts`,
      source: m[1]!,
    })),
  );
}

describe('the TypeScript examples of the docs', () => {
  const examples = tsExamples();

  it('are many, on the README and on api.md', () => {
    expect(examples.filter((e) => e.page === 'README.md').length).toBeGreaterThanOrEqual(1);
    expect(examples.filter((e) => e.page === 'docs/api.md').length).toBeGreaterThanOrEqual(12);
  });

  it('type-check with strict tsc against the sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-doc-types-'));
    try {
      for (const e of examples) writeFileSync(join(dir, e.file), e.source);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      const compilerOptions = {
        target: 'ES2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [resolve('node_modules/@types')],
        strict: true,
        noUncheckedIndexedAccess: true,
        noEmit: true,
        skipLibCheck: true,
        paths: { 'ndis-offload': [resolve('src/index.ts')] },
      };
      // The sources need the project's declaration of restructure (the published types do not).
      const files = [...examples.map((e) => e.file), resolve('types/restructure.d.ts')];
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
      const r = spawnSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a wrong example is caught (the check is not vacuous)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-doc-types-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(join(dir, 'bad.ts'), "import { decodeTree } from 'ndis-offload';\nconst n: number = decodeTree;\n");
      const compilerOptions = { module: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [], paths: { 'ndis-offload': [resolve('src/index.ts')] } };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['bad.ts'] }));
      const r = spawnSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain("bad.ts(2,7): error TS2322: Type '");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
