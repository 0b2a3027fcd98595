/**
 * The package a user installs, checked the way a user gets it: one tsup build into a staging copy
 * of the project, `npm pack` of that copy, the tarball unpacked into a consumer project's
 * node_modules (no network: its one runtime dependency, restructure, linked from this project's),
 * then strict TypeScript (no skipLibCheck) over consumer programs for every module setting a
 * user may have, the compiled programs run against the package, and its bin run as npm links it.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { BROWSER_CONSUMER, NODE_CONSUMER, NODE_CONSUMER_OUTPUT } from './consumer-sources.js';

const run = promisify(execFile);
const repo = process.cwd();
const bin = (name: string): string => resolve(repo, 'node_modules/.bin', name);
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string; bin: Record<string, string> };

/**
 * Each way a TypeScript user may resolve the package. One program is checked with the real
 * @types/node; the others declare the three Node things they use (checking all of @types/node
 * without skipLibCheck takes seconds each, and the package's types must not need it anyway).
 */
const CONFIGS: { name: string; dir: 'esm' | 'cjs' | 'browser'; options: Record<string, unknown>; emit?: boolean; nodeTypes?: boolean }[] = [
  { name: 'ESM, module nodenext, with @types/node', dir: 'esm', options: { module: 'nodenext', moduleResolution: 'nodenext' }, emit: true, nodeTypes: true },
  { name: 'ESM, module node16', dir: 'esm', options: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'ESM, moduleResolution bundler', dir: 'esm', options: { module: 'esnext', moduleResolution: 'bundler' } },
  { name: 'CommonJS, module node16', dir: 'cjs', options: { module: 'node16', moduleResolution: 'node16' }, emit: true },
  { name: 'CommonJS, moduleResolution node10 (the "types" field)', dir: 'cjs', options: { module: 'commonjs', moduleResolution: 'node10' } },
  { name: 'a browser library: lib ES2022 only, no Node', dir: 'browser', options: { module: 'esnext', moduleResolution: 'bundler' } },
];

/** The Node API the consumer programs use, for the configurations without @types/node. */
const NODE_SHIM = `declare module 'node:fs' {
  export function readFileSync(path: string): Uint8Array;
}
declare const process: { readonly argv: readonly string[] };
declare const console: { log(...values: unknown[]): void };
`;

let tmp = '';
let consumer = '';
let installed = '';
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
const tscResults = new Map<string, { code: number; output: string }>();

/** Files of the project as git sees them (tracked, and new ones not ignored), that exist. */
function projectFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.split('\0').filter((f) => f !== '' && f !== 'node_modules' && !f.startsWith('node_modules/') && existsSync(f));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ndis-package-'));
  // A staging copy of the project, so that the build and the pack never touch this checkout's dist/.
  const stage = join(tmp, 'stage');
  for (const f of projectFiles()) cpSync(f, join(stage, f), { recursive: false });
  // What `npm run build` (and prepare, before a publish) does: tsup, then the web inspector.
  await run(bin('tsup'), ['--out-dir', join(stage, 'dist')], { cwd: repo });
  await run(bin('tsx'), ['scripts/build-web.ts', join(stage, 'dist/web')], { cwd: repo });
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: stage });
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;

  // "npm install ndis-offload-0.1.0.tgz", without a registry: unpack, link the dependency and the bin.
  consumer = join(tmp, 'consumer');
  installed = join(consumer, 'node_modules', manifest.name);
  mkdirSync(installed, { recursive: true });
  const tar = spawnSync('tar', ['-xzf', join(tmp, packed.filename), '-C', installed, '--strip-components=1']);
  expect(tar.status).toBe(0);
  symlinkSync(realpathSync('node_modules/restructure'), join(consumer, 'node_modules', 'restructure'));
  mkdirSync(join(consumer, 'node_modules', '@types'));
  symlinkSync(realpathSync('node_modules/@types/node'), join(consumer, 'node_modules', '@types', 'node'));
  mkdirSync(join(consumer, 'node_modules', '.bin'));
  for (const [name, target] of Object.entries(manifest.bin)) symlinkSync(join('..', manifest.name, target), join(consumer, 'node_modules', '.bin', name));

  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(consumer, path)), { recursive: true });
    writeFileSync(join(consumer, path), text);
  };
  write('esm/package.json', JSON.stringify({ type: 'module' }));
  write('esm/consumer.ts', NODE_CONSUMER);
  write('cjs/package.json', JSON.stringify({ type: 'commonjs' }));
  write('cjs/consumer.ts', NODE_CONSUMER);
  write('browser/package.json', JSON.stringify({ type: 'module' }));
  write('browser/consumer.ts', BROWSER_CONSUMER);
  write('node-shim.d.ts', NODE_SHIM);
  const tsc = resolve(repo, 'node_modules/typescript/bin/tsc');
  await Promise.all(
    CONFIGS.map(async (c, i) => {
      const config = `tsconfig.${i}.json`;
      const compilerOptions = {
        target: 'ES2022',
        lib: ['ES2022'],
        strict: true,
        skipLibCheck: false,
        noUncheckedIndexedAccess: true,
        ...(c.emit ? { outDir: 'out' } : { noEmit: true }),
        ...(c.nodeTypes ? { types: ['node'] } : { types: [] }),
        ...c.options,
      };
      const files = c.nodeTypes || c.dir === 'browser' ? ['consumer.ts'] : ['consumer.ts', '../node-shim.d.ts'];
      write(`${c.dir}/${config}`, JSON.stringify({ compilerOptions, files }, null, 2));
      const r = await run(process.execPath, [tsc, '-p', config], { cwd: join(consumer, c.dir) }).then(
        (o) => ({ code: 0, output: o.stdout + o.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
      );
      tscResults.set(c.name, r);
    }),
  );
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the builds, their types, the docs and the sample captures, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['package.json', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/cli/main.js', 'dist/web/index.html', 'dist/web/inspector.js', 'dist/web/inspector.css', 'docs/api.md', 'fixtures/sample-x64.bin', 'fixtures/sample-x64.dmp', 'fixtures/sample-x64.json']) {
      expect(paths, p).toContain(p);
    }
    expect(paths.filter((p) => /^(src|test|bench|scripts|types|node_modules)\//.test(p))).toEqual([]);
    // Every sample of the repository ships (the demo command copies them all).
    expect(paths.filter((p) => p.startsWith('fixtures/')).sort()).toEqual(readdirSync('fixtures').map((f) => `fixtures/${f}`).sort());
    // About 1.5 MB compressed (6.7 MB unpacked): the ESM, CommonJS and CLI builds with their source
    // maps (most of it), the web inspector (~290 KB, one minified script), the docs and the samples.
    // A bound, so that an accident (a dump, node_modules, the screenshots) shows.
    expect(packed.size).toBeLessThan(2_000_000);
  });

  it("its types import nothing: no 'restructure' (which ships no types) and no Node module", () => {
    for (const d of ['dist/index.d.ts', 'dist/index.d.cts']) {
      const text = readFileSync(join(installed, d), 'utf8');
      expect(text.match(/^import .*$|from ['"][^'"]+['"]|import\(['"][^'"]+['"]\)|reference types=/gm) ?? [], d).toEqual([]);
    }
  });

  it('its types name no typed array with a buffer type argument (TypeScript before 5.7 has no such generic)', () => {
    for (const d of ['dist/index.d.ts', 'dist/index.d.cts']) {
      const text = readFileSync(join(installed, d), 'utf8');
      expect(text.match(/\b(?:Uint8|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64|BigUint64|BigInt64|Uint8Clamped)Array<[^>]*>/g) ?? [], d).toEqual([]);
    }
  });

  it.each(CONFIGS.map((c) => c.name))('a strict TypeScript consumer compiles against it without skipLibCheck: %s', (name) => {
    const r = tscResults.get(name)!;
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('the compiled ESM and CommonJS consumers run against it, over the samples it ships', () => {
    for (const dir of ['esm', 'cjs']) {
      const r = spawnSync(process.execPath, [join(consumer, dir, 'out', 'consumer.js'), join(installed, 'fixtures')], { encoding: 'utf8', cwd: consumer });
      expect(r.stderr, dir).toBe('');
      expect(r.stdout, dir).toBe(NODE_CONSUMER_OUTPUT);
      expect(r.status, dir).toBe(0);
    }
  });

  it("a program finds the shipped samples through the package's exports, from ESM and CommonJS", () => {
    const want = join(installed, 'fixtures', 'sample-x64.dmp');
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "console.log(new URL(import.meta.resolve('ndis-offload/fixtures/sample-x64.dmp')).pathname)"], { encoding: 'utf8', cwd: consumer });
    expect([esm.stdout, esm.stderr]).toEqual([`${want}\n`, '']);
    const cjs = spawnSync(process.execPath, ['-e', "console.log(require.resolve('ndis-offload/fixtures/sample-x64.dmp'))"], { encoding: 'utf8', cwd: consumer });
    expect([cjs.stdout, cjs.stderr]).toEqual([`${want}\n`, '']);
  });

  it('its bin serves the web inspector it ships on 127.0.0.1, with the capture named', async () => {
    const child = spawn(join(consumer, 'node_modules', '.bin', 'ndis-offload'), ['serve', join(installed, 'fixtures', 'sample-x64.dmp')], { cwd: consumer });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
          if (m) resolveUrl(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const page = await fetch(url);
      expect(await page.text()).toContain('<script src="inspector.js"></script>');
      expect((await fetch(`${url}inspector.js`)).status).toBe(200);
      expect(await (await fetch(`${url}api/captures`)).json()).toEqual([{ url: 'capture/0', name: 'sample-x64.dmp', size: readFileSync(join(installed, 'fixtures', 'sample-x64.dmp')).length }]);
    } finally {
      child.kill('SIGINT');
    }
  });

  it('its bin, linked as npm links it, prints the version', () => {
    const r = spawnSync(join(consumer, 'node_modules', '.bin', 'ndis-offload'), ['--version'], { encoding: 'utf8', cwd: consumer });
    expect([r.stdout, r.stderr, r.status]).toEqual([`${manifest.version}\n`, '', 0]);
  });

  it("after the install, the README's first commands work in an empty folder", () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('npm install ndis-offload'));
    expect(block).toBeDefined();
    const lines = block!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== '');
    expect(lines[0]).toBe('npm install ndis-offload');
    const commands = lines.slice(1);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    const cwd = mkdtempSync(join(tmp, 'user-'));
    for (const line of commands) {
      const [npx, name, ...args] = line.split(/\s+/);
      expect([npx, name], line).toEqual(['npx', 'ndis-offload']);
      const r = spawnSync(join(consumer, 'node_modules', '.bin', 'ndis-offload'), args, { encoding: 'utf8', cwd });
      expect(r.stderr, line).toBe('');
      expect(r.status, line).toBe(0);
      expect(r.stdout.length, line).toBeGreaterThan(0);
    }
  });

  it('every fixtures/ path in a --help example is a sample the package ships (ndis-offload demo writes them there)', () => {
    const shipped = new Set(packed.files.map((f) => f.path));
    const used = Object.values(COMMANDS).flatMap((c) => [...c.help.matchAll(/\bfixtures\/[\w.-]+/g)].map((m) => m[0]));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((p) => !shipped.has(p))).toEqual([]);
  });
});
