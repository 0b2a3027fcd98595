/**
 * `ndis-offload serve`: its options and files are checked before anything listens (one line,
 * exit 2 or 4), a port in use is said so, `serve A B` serves both for the page to diff, and the
 * server gives the page, the named captures and nothing else: no path out of the web root, byte
 * ranges exactly as asked (416 when none can be given), HEAD without a body.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOptions, startServe } from '../../src/cli/commands/serve.js';
import type { InspectorServer } from '../../src/cli/inspector-server.js';
import { main } from '../../src/cli/main.js';

const SAMPLE = resolve('fixtures/sample-x64.bin');
const DUMP = resolve('fixtures/sample-x64.dmp');
const VMEM = resolve('fixtures/sample-x64.vmem');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

/** A web root of its own (the page's files, with a secret beside it that must never be served). */
function fakeWebRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-serve-'));
  const root = join(dir, 'web');
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>inspector</title>');
  writeFileSync(join(root, 'inspector.js'), 'void 0;');
  writeFileSync(join(root, 'notes.txt'), 'a file of a type the page does not have');
  writeFileSync(join(dir, 'secret.json'), '{"secret":true}');
  return root;
}

/** A raw HTTP request (the path sent as is, no normalising by a client). */
function get(url: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

const quiet = { out: () => {}, err: () => {}, stdoutIsTty: false, env: {} };

describe('serve refuses what it cannot do, in one line, before listening', () => {
  it.each([
    [['--bogus'], 2, "serve: unknown option '--bogus'"],
    [['--prot', '80'], 2, "unknown option '--prot' (did you mean --port"],
    [['--port', '99999'], 2, "--port: '99999' is not a port number (0 to 65535)"],
    [['--port', 'http'], 2, "--port: 'http' is not a port number"],
    [['--base', '0x10'], 2, '--base, --physical and --root apply to a CAPTURE: name one'],
    [[SAMPLE, '--dtb', '0x1000'], 2, '--dtb applies to --physical images'],
    [[SAMPLE, '--base', '0x1000', '--physical'], 2, 'give --base (a region) or --physical (a raw image), not both'],
    [[SAMPLE, '--abi', 'x86'], 2, '--abi applies to a region given with --base'],
    [[SAMPLE, '--base', '0x1000', '--abi', 'arm'], 2, "--abi: 'arm' is not x64 or x86"],
    [[SAMPLE, '--base', 'zz'], 2, "--base: 'zz' is not a hexadecimal address"],
    [[SAMPLE, SAMPLE, DUMP], 2, 'expected at most two captures, A and B to diff against it, got 3'],
    [['fixtures'], 4, 'fixtures: is a folder'],
    [['/dev/null'], 2, '/dev/null is not a file'],
    [['no-such-capture.dmp'], 4, 'no-such-capture.dmp: no such file or folder'],
    [[SAMPLE, 'no-such-b.bin'], 4, 'no-such-b.bin: no such file or folder'],
  ])('serve %j: exit %i, %s', async (argv, code, message) => {
    const r = await run('serve', ...argv);
    expect(r.code).toBe(code);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('a port in use is said so, with what to do', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startServe([SAMPLE, '--base', '0xffffc70a12340000', '--port', String(port)], quiet, fakeWebRoot())).rejects.toThrow(`--port ${port}: the port is in use (give another, or 0 for any free one)`);
    } finally {
      blocker.close();
    }
  });
});

describe('what serve gives the page', () => {
  it('one capture: the region options go with it', () => {
    expect(serveOptions([SAMPLE, '--base', 'ffffc70a12340000', '--root', '0xffffc70a12340000']).captures).toEqual([
      { path: SAMPLE, settings: { kind: 'region', base: '0xffffc70a12340000', abi: 'x64' }, root: '0xffffc70a12340000' },
    ]);
  });

  it('serve A B: both captures, the options for both (as diff takes them without a side)', () => {
    expect(serveOptions([SAMPLE, SAMPLE, '--base', '0xffffc70a12340000', '--abi', 'x86']).captures).toEqual([
      { path: SAMPLE, settings: { kind: 'region', base: '0xffffc70a12340000', abi: 'x86' } },
      { path: SAMPLE, settings: { kind: 'region', base: '0xffffc70a12340000', abi: 'x86' } },
    ]);
    expect(serveOptions([DUMP, SAMPLE, '--physical']).captures.map((c) => c.settings)).toEqual([{ kind: 'physical' }, { kind: 'physical' }]);
  });

  it("a .vmem is served with its state file, which does not count as B", () => {
    const vmss = VMEM.replace(/\.vmem$/, '.vmss');
    expect(serveOptions([VMEM, vmss]).captures).toEqual([{ path: VMEM, sibling: vmss }]);
    expect(serveOptions([VMEM, vmss, DUMP]).captures).toEqual([{ path: VMEM, sibling: vmss }, { path: DUMP }]);
  });
});

describe('the server', () => {
  let server: InspectorServer;
  let url: string;
  let err = '';
  let out = '';
  const sample = readFileSync(SAMPLE);
  beforeAll(async () => {
    server = await startServe([SAMPLE, DUMP, '--port', '0'], { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} }, fakeWebRoot());
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('listens on 127.0.0.1 only, and says where and what it opens', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(out).toBe(`${url}\n`);
    expect(err).toBe(`ndis-offload inspector: ${url} (opens ${SAMPLE}, diffed against ${DUMP}); Ctrl+C stops it\n`);
    expect((server.server.address() as { address: string }).address).toBe('127.0.0.1');
  });

  it('lists the two captures, by index and name, without their paths', async () => {
    const r = await get(url, '/api/captures');
    expect(r.status).toBe(200);
    const list = JSON.parse(r.body.toString()) as { url: string; name: string; size: number }[];
    expect(list).toEqual([
      { url: 'capture/0', name: 'sample-x64.bin', size: sample.length },
      { url: 'capture/1', name: 'sample-x64.dmp', size: readFileSync(DUMP).length },
    ]);
    expect(r.body.toString()).not.toContain('/fixtures/');
  });

  it('serves the page and only the named files', async () => {
    expect((await get(url, '/')).body.toString()).toContain('<title>inspector</title>');
    expect((await get(url, '/inspector.js')).status).toBe(200);
    expect((await get(url, '/capture/0')).body.equals(sample)).toBe(true);
    for (const path of ['/capture/2', '/capture/-1', '/capture/x', '/notes.txt', '/fixtures/sample-x64.bin', '/missing.js']) expect((await get(url, path)).status).toBe(404);
  });

  it('no path leaves the web root', async () => {
    for (const path of ['/../secret.json', '/%2e%2e/secret.json', '/..%2fsecret.json', '/%2e%2e%2fsecret.json', '/web/../../secret.json', '/..\\secret.json']) {
      const r = await get(url, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString(), path).not.toContain('secret');
    }
    // A path that reads as another host names the page, never the file.
    expect((await get(url, '//secret.json')).body.toString()).toContain('<title>inspector</title>');
  });

  it('answers byte ranges exactly, and 416 when none can be given', async () => {
    const size = sample.length;
    const cases: [string, number, number][] = [
      ['bytes=0-15', 0, 15],
      ['bytes=16-16', 16, 16],
      [`bytes=${size - 4}-`, size - 4, size - 1],
      ['bytes=-8', size - 8, size - 1],
      [`bytes=100-${size + 1000}`, 100, size - 1],
      [`bytes=-${size + 50}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(url, '/capture/0', { headers: { range } });
      expect(r.status, range).toBe(206);
      expect(r.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
      expect(Number(r.headers['content-length']), range).toBe(end - start + 1);
      expect(r.body.equals(sample.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=20-10', 'bytes=-', 'bytes=0-1,4-5', 'items=0-1']) {
      const r = await get(url, '/capture/0', { headers: { range } });
      expect(r.status, range).toBe(416);
      expect(r.headers['content-range'], range).toBe(`bytes */${size}`);
      expect(r.body.length, range).toBe(0);
    }
  });

  it('HEAD says the size (and a range) without sending bytes; other methods are refused', async () => {
    const whole = await get(url, '/capture/0', { method: 'HEAD' });
    expect(whole.status).toBe(200);
    expect(Number(whole.headers['content-length'])).toBe(sample.length);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.body.length).toBe(0);
    const part = await get(url, '/capture/0', { method: 'HEAD', headers: { range: 'bytes=8-15' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 8-15/${sample.length}`);
    expect(part.body.length).toBe(0);
    const post = await get(url, '/capture/0', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});
