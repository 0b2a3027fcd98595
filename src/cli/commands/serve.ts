/**
 * `ndis-offload serve [CAPTURE...]`: the web inspector on 127.0.0.1, with the named captures
 * opened in it. The page decodes everything itself (in a Worker); this only serves files.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { type Io, parseAddress, parseOptions } from '../io.js';
import { type InspectorServer, type ServedCapture, defaultWebRoot, startInspectorServer } from '../inspector-server.js';

export const SERVE_HELP = `Usage: ndis-offload serve [A [B]] [--port N] [--base HEX --abi x64|x86 | --physical [--dtb HEX]] [--root HEX]

Serves the web inspector on 127.0.0.1 (never another interface) and opens capture A in it: the
tree, its members and their bytes, linked both ways; pointers to follow, diagnostics, edits and
completion with a download (docs/web.md). Given B too, the page opens B beside A and shows the
structural diff the 'diff' command gives, with the bytes that differ marked in both. The page
reads the captures itself, range by range: nothing is decoded by the server and a capture of any
size opens at once. Only the named captures are served. Any capture the other commands read: a
crash dump, a LiME, ELF core or VMware capture (a .vmem's .vmss beside it is served with it) open
with nothing more; a region needs --base (the page asks otherwise). Without a capture the page
opens empty: pick or drop a file there.

Options:
  --port N         port to listen on (default 0: a free port, printed)
  --base HEX       the captures are regions whose first byte is at virtual address HEX
  --abi x64|x86    the regions' ABI (default x64)
  --physical       the captures are raw physical images (the DTB is found)
  --dtb HEX        the raw images' DTB
  --root HEX       the root block (default: a region's base; a scan for other captures, and
                   for B, A's root when the scan finds it)

Press Ctrl+C to stop.

Examples:
  ndis-offload serve fixtures/sample-x64.dmp
  ndis-offload serve fixtures/sample-x64.bin --base 0xffffc70a12340000 --port 8080
  ndis-offload serve before.bin after.bin --base 0xffffc70a12340000`;

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
  // A .vmem's state file named beside it is the same capture.
  const distinct = positionals.filter((p) => !(/\.vms[sn]$/i.test(p) && positionals.some((q) => /\.vmem$/i.test(q) && q.replace(/\.vmem$/i, '') === p.replace(/\.vms[sn]$/i, ''))));
  if (distinct.length > 2) throw new UsageError(`expected at most two captures, A and B to diff against it, got ${distinct.length}`);
  for (const p of positionals) {
    if (!existsSync(p)) throw Object.assign(new Error('no such file'), { code: 'ENOENT', syscall: 'open', path: p });
    accessSync(p, constants.R_OK);
    // A folder is a file error (exit 4), as for every command.
    if (statSync(p).isDirectory()) throw Object.assign(new Error(`EISDIR: ${p}`), { code: 'EISDIR', syscall: 'open', path: p });
    if (!statSync(p).isFile()) throw new UsageError(`${p} is not a file`);
  }
  const captures: ServedCapture[] = [];
  const root = hex(values.root, '--root');
  const base = hex(values.base, '--base');
  const dtb = hex(values.dtb, '--dtb');
  for (const path of distinct) {
    const sibling = /\.vmem$/i.test(path) ? ['.vmss', '.vmsn'].map((e) => path.replace(/\.vmem$/i, e)).find((s) => existsSync(s)) : undefined;
    // The source options apply to both captures, as 'diff' takes them without a side.
    captures.push({
      path,
      ...(base ? { settings: { kind: 'region' as const, base, abi: (values.abi ?? 'x64') as 'x64' | 'x86' } } : {}),
      ...(values.physical ? { settings: { kind: 'physical' as const, ...(dtb ? { dtb } : {}) } } : {}),
      ...(root ? { root } : {}),
      ...(sibling ? { sibling } : {}),
    });
  }
  return { captures, port };
}

/** Starts the server; resolves once it is listening (the command's promise waits for Ctrl+C). */
export async function startServe(argv: string[], io: Io, webRoot?: string): Promise<InspectorServer> {
  // The options and files first: a mistake in them is told as such, even where the page is not built.
  const { captures, port } = serveOptions(argv);
  const server = await startInspectorServer({ webRoot: webRoot ?? defaultWebRoot(), captures, port }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UsageError(`--port ${port}: the port is in use (give another, or 0 for any free one)`);
    throw e;
  });
  const opens = captures.length === 2 ? ` (opens ${captures[0]!.path}, diffed against ${captures[1]!.path})` : captures.length ? ` (opens ${captures[0]!.path})` : '';
  io.err(`ndis-offload inspector: ${server.url}${opens}; Ctrl+C stops it\n`);
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
