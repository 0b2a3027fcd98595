/**
 * Builds the web inspector into dist/web: index.html, inspector.css and inspector.js, one classic
 * script with the Worker's code inside it (started from a Blob URL). Classic, not an ES module,
 * because Chromium refuses module scripts and Worker files on file:// pages, and the page must
 * work from file:// as well as from any static server. Run by `npm run build` after tsup; the
 * browser tests build into a folder of their own with `buildWeb(dir)`.
 */
import { type BuildOptions, build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface WebBuild {
  outDir: string;
  /** Bytes of each file written, and gzipped. */
  sizes: Record<string, { bytes: number; gzip: number }>;
}

export async function buildWeb(outDir = join(root, 'dist/web'), { minify = true } = {}): Promise<WebBuild> {
  mkdirSync(outDir, { recursive: true });
  // keepNames: the error dialogs name the library's error classes (DumpError, EncodeError...), as the CLI does.
  const common: BuildOptions = { bundle: true, write: false, platform: 'browser', target: 'es2022', format: 'iife', minify, legalComments: 'none', logLevel: 'silent', keepNames: true };
  const worker = await build({ ...common, entryPoints: [join(root, 'src/web/worker/main.ts')] });
  const workerSource = worker.outputFiles![0]!.text;
  const app = await build({ ...common, entryPoints: [join(root, 'src/web/app/main.ts')], define: { __WORKER_SOURCE__: JSON.stringify(workerSource) } });
  const files: Record<string, string> = {
    'inspector.js': app.outputFiles![0]!.text,
    'inspector.css': readFileSync(join(root, 'src/web/static/inspector.css'), 'utf8'),
    'index.html': readFileSync(join(root, 'src/web/static/index.html'), 'utf8'),
  };
  const sizes: WebBuild['sizes'] = {};
  for (const [name, text] of Object.entries(files)) {
    const tmp = join(outDir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(outDir, name));
    sizes[name] = { bytes: Buffer.byteLength(text), gzip: gzipSync(text).length };
  }
  return { outDir, sizes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, sizes } = await buildWeb(process.argv[2] ? resolve(process.argv[2]) : undefined);
  const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`web inspector in ${outDir}: ${Object.entries(sizes).map(([n, s]) => `${n} ${kib(s.bytes)} (${kib(s.gzip)} gzipped)`).join(', ')}`);
}
