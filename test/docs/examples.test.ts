// Every `ndis-offload …` line in a ```sh block of docs/ and the README runs, and succeeds; every
// ```json block of the JSON format page parses, and the complete documents in it encode.
// `ndis-offload demo` writes into the working folder, so it runs as a program in an empty one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { encodeTree } from '../../src/index.js';

const pages = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = (text: string, lang: string): string[] =>
  [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

describe('documented examples run', () => {
  for (const page of pages) {
    const commands = blocks(readFileSync(page, 'utf8'), 'sh')
      .flatMap((b) => b.split('\n'))
      .map((l) => l.replace(/^npx /, '').replace(/\s+#.*$/, '').trim())
      .filter((l) => l.startsWith('ndis-offload '));
    for (const line of commands) {
      it(`${page}: ${line}`, async () => {
        const argv = line.split(/\s+/).slice(1);
        if (argv[0] === 'demo') {
          const cwd = mkdtempSync(join(tmpdir(), 'ndis-demo-'));
          const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), resolve('src/cli/main.ts'), ...argv], { encoding: 'utf8', cwd });
          rmSync(cwd, { recursive: true, force: true });
          expect(r.stderr).toBe('');
          expect(r.status).toBe(0);
          return;
        }
        let err = '';
        const code = await main(argv, { out: () => {}, err: (t) => (err += t), stdoutIsTty: false, env: {} });
        expect(err).toBe('');
        expect(code).toBe(0);
      });
    }
  }

  it('docs/json-format.md: its JSON examples parse, and the whole documents encode', () => {
    const jsons = blocks(readFileSync('docs/json-format.md', 'utf8'), 'json').map((b) => JSON.parse(b) as Record<string, unknown>);
    expect(jsons.length).toBeGreaterThanOrEqual(2);
    for (const j of jsons.filter((x) => 'blocks' in x)) expect(encodeTree(j as never).bytes.length).toBeGreaterThan(0);
  });
});
