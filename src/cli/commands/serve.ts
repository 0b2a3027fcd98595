/**
 * `ndis-offload serve [CAPTURE...]`: the web inspector on 127.0.0.1, with the named captures
 * opened in it. The page decodes everything itself (in a Worker); this only serves files.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { type Io, parseAddress, parseOptions } from '../io.js';
import { type InspectorServer, type ServedCapture, defaultWebRoot, startInspectorServer } from '../inspector-server.js';

export const SERVE_HELP = `Usage: ndis-offload serve [CAPTURE...] [--port N] [--base HEX --abi x64|x86 | --physical [--dtb HEX]] [--root HEX]

Serves the web inspector on 127.0.0.1 (never another interface) and opens the first CAPTURE in
it: the tree, its members and their bytes, linked both ways; pointers to follow, diagnostics,
edits and completion with a download (docs/web.md). The page reads the captures itself, range
by range: nothing is decoded by the server and a capture of any size opens at once. Any capture
the other commands read: a crash dump, a LiME, ELF core or VMware capture (a .vmem's .vmss beside
it is served with it) open with nothing more; a region needs --base (the page asks otherwise).
Without CAPTURE the page opens empty: pick or drop a file there.

Options:
  --port N         port to listen on (default 0: a free port, printed)
  --base HEX       the first CAPTURE is a region whose first byte is at virtual address HEX
  --abi x64|x86    the region's ABI (default x64)
  --physical       the first CAPTURE is a raw physical image (the DTB is found)
  --dtb HEX        the raw image's DTB
  --root HEX       the root block (default: a region's base; a scan for other captures)

Press Ctrl+C to stop.

Examples:
  ndis-offload serve fixtures/sample-x64.dmp
  ndis-offload serve fixtures/sample-x64.bin --base 0xffffc70a12340000 --port 8080`;

const SERVE_OPTIONS = {
  port: { type: 'string' },
  base: { type: 'string' },
  abi: { type: 'string' },
  physical: { type: 'boolean' },
  dtb: { type: 'string' },
  root: { type: 'string' },
} as const;

/** The captures and port `serve` was given, checked (every file readable) before anything listens. */
export function serveOptions(argv: string[]): { captures: ServedCapture[]; port: number } {
  const { values, positionals } = parseOptions(argv, SERVE_OPTIONS);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: '${values.port}' is not a port number (0 to 65535)`);
  const hex = (text: string | undefined, option: string): string | undefined => (text === undefined ? undefined : `0x${parseAddress(text, option).toString(16)}`);
  if (values.abi !== undefined && values.abi !== 'x64' && values.abi !== 'x86') throw new UsageError(`--abi: '${values.abi}' is not x64 or x86`);
  if (values.base !== undefined && values.physical) throw new UsageError('give --base (a region) or --physical (a raw image), not both');
  if (values.dtb !== undefined && !values.physical) throw new UsageError('--dtb applies to --physical images');
  if (values.abi !== undefined && values.base === undefined) throw new UsageError('--abi applies to a region given with --base (other captures say their own)');
  if (!positionals.length && (values.base !== undefined || values.physical || values.root !== undefined)) {
    throw new UsageError('--base, --physical and --root apply to a CAPTURE: name one');
  }
  for (const p of positionals) {
    if (!existsSync(p)) throw Object.assign(new Error('no such file'), { code: 'ENOENT', syscall: 'open', path: p });
    accessSync(p, constants.R_OK);
    if (!statSync(p).isFile()) throw new UsageError(`${p} is not a file`);
  }
  const captures: ServedCapture[] = [];
  const used = new Set<string>();
  positionals.forEach((path, i) => {
    if (used.has(path)) return;
    const first = i === 0;
    const sibling = /\.vmem$/i.test(path) ? ['.vmss', '.vmsn'].map((e) => path.replace(/\.vmem$/i, e)).find((s) => existsSync(s)) : undefined;
    if (sibling) used.add(sibling);
    const root = first ? hex(values.root, '--root') : undefined;
    const base = first ? hex(values.base, '--base') : undefined;
    const dtb = first ? hex(values.dtb, '--dtb') : undefined;
    captures.push({
      path,
      ...(base ? { settings: { kind: 'region' as const, base, abi: (values.abi ?? 'x64') as 'x64' | 'x86' } } : {}),
      ...(first && values.physical ? { settings: { kind: 'physical' as const, ...(dtb ? { dtb } : {}) } } : {}),
      ...(root ? { root } : {}),
      ...(sibling ? { sibling } : {}),
    });
  });
  return { captures, port };
}

/** Starts the server; resolves once it is listening (the command's promise waits for Ctrl+C). */
export async function startServe(argv: string[], io: Io, webRoot = defaultWebRoot()): Promise<InspectorServer> {
  const { captures, port } = serveOptions(argv);
  const server = await startInspectorServer({ webRoot, captures, port }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UsageError(`--port ${port}: the port is in use (give another, or 0 for any free one)`);
    throw e;
  });
  io.err(`ndis-offload inspector: ${server.url}${captures.length ? ` (opens ${captures[0]!.path})` : ''}; Ctrl+C stops it\n`);
  io.out(`${server.url}\n`);
  return server;
}

export async function runServe(argv: string[], io: Io): Promise<number> {
  const server = await startServe(argv, io);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
