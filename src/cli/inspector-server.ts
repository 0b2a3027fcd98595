/**
 * The web inspector's server for `ndis-offload serve`: the static page (dist/web) and the named
 * captures, on 127.0.0.1 only. Captures are offered read-only as byte ranges (the page's Worker
 * reads them slice by slice with Range requests, as it reads a picked File); nothing is decoded
 * here. Only the files named on the command line are served, each under an opaque index.
 */
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

/** A capture the page opens, as `api/captures` lists it. */
export interface ServedCapture {
  path: string;
  /** How to read a file whose bytes name no format (a region at a base, a raw image). */
  settings?: { kind: 'region' | 'physical'; base?: string; abi?: 'x64' | 'x86'; dtb?: string };
  root?: string;
  /** VMware's state file beside a .vmem. */
  sibling?: string;
}

export interface InspectorServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.json': 'application/json' };

/** Where the built page is: dist/web beside the bundled CLI, or the repository's dist/web when run from src. */
export function defaultWebRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '../web'), join(here, '../../dist/web')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new UsageError('the web inspector is not built (no dist/web/index.html): run `npm run build`');
}

/** Parses `bytes=a-b` (one range; `a-` and `-n` too) against a size; undefined when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return undefined;
  return { start, end };
}

function sendFile(req: IncomingMessage, res: ServerResponse, path: string, type: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
    return;
  }
  const size = fstatSync(fd).size;
  const headers: Record<string, string | number> = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  const range = req.headers.range;
  if (range !== undefined) {
    const r = parseRange(range, size);
    if (!r) {
      closeSync(fd);
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, 'content-range': `bytes ${r.start}-${r.end}/${size}`, 'content-length': r.end - r.start + 1 });
    if (req.method === 'HEAD') return void (closeSync(fd), res.end());
    createReadStream('', { fd, start: r.start, end: r.end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': size });
  if (req.method === 'HEAD') return void (closeSync(fd), res.end());
  createReadStream('', { fd }).pipe(res);
}

/** Starts the server on 127.0.0.1 (`port` 0: any free port). */
export function startInspectorServer(options: { webRoot: string; captures: readonly ServedCapture[]; port?: number }): Promise<InspectorServer> {
  const webRoot = resolve(options.webRoot);
  const files: string[] = [];
  const list = options.captures.map((c) => {
    const entry = (path: string): { url: string; name: string; size: number } => {
      files.push(resolve(path));
      return { url: `capture/${files.length - 1}`, name: path.split(/[\\/]/).pop()!, size: statSync(path).size };
    };
    const main = entry(c.path);
    return { ...main, ...(c.settings ? { settings: c.settings } : {}), ...(c.root ? { root: c.root } : {}), ...(c.sibling ? { sibling: entry(c.sibling) } : {}) };
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (url.pathname === '/api/captures') {
      return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(list));
    }
    const capture = /^\/capture\/(\d+)$/.exec(url.pathname);
    if (capture) {
      const path = files[Number(capture[1])];
      if (path === undefined) return void res.writeHead(404).end();
      return sendFile(req, res, path, 'application/octet-stream');
    }
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const path = normalize(join(webRoot, rel));
    if (!path.startsWith(webRoot + sep)) return void res.writeHead(404).end();
    const type = TYPES[extname(path)];
    if (!type || !existsSync(path)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(readFileSync(path));
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolveStart({
        url: `http://127.0.0.1:${port}/`,
        server,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
