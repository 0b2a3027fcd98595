/**
 * Output that fails: a full device, a closed pipe, a folder nobody may write to. One line naming
 * the path the user gave (never the temporary file beside it), exit 4, never a stack trace, and
 * a device is written, never replaced by a renamed file. The process-level cases (standard
 * output on /dev/full, a reader that goes away) run the real command in a child process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, lstatSync, mkdtempSync, openSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeFileAtomic, writeFilesAtomic } from '../../src/cli/io.js';

const SAMPLE = 'fixtures/sample-x64.bin';
const BASE = '0xffffc70a12340000';
const LARGE = 'fixtures/large-x64.bin';
const LARGE_BASE = '0xffffc70a30000000';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ndis-offload-out-'));

/**
 * The full device (1, 7) or the null device (1, 3) as a node in a folder of the test's own, so
 * that a writer that wrongly renames a file over its target replaces that node, not the
 * machine's /dev/full. Without the right to make device nodes, the machine's own (no writer
 * can rename over it then either).
 */
function device(name: 'full' | 'null'): string {
  if (process.getuid?.() !== 0) return `/dev/${name}`;
  const path = join(tmp(), name);
  execFileSync('mknod', [path, 'c', '1', name === 'full' ? '7' : '3']);
  return path;
}
const tempsBeside = (path: string): string[] => readdirSync(dirname(path)).filter((f) => f.endsWith('.tmp'));

/**
 * A folder where no new file can be made: a read-only folder for an ordinary user; for root, whom
 * permissions do not stop, sysfs, which refuses new files to everyone.
 */
function unwritableFolder(): string {
  if (process.getuid?.() === 0) return '/sys';
  const dir = tmp();
  chmodSync(dir, 0o555);
  return dir;
}

describe('writing to a device, a full disk, a folder that refuses', () => {
  it('-o on the full device: one line naming it, exit 4, and the device is still the device', async () => {
    const full = device('full');
    for (const argv of [
      ['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '-o', full],
      ['export', '--format', 'ksy', '-o', full],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv[0]).toBe(4);
      expect(r.err).toBe(`ndis-offload: ${full}: no space left on the device\n`);
      expect(statSync(full).isCharacterDevice()).toBe(true);
      expect(tempsBeside(full)).toEqual([]);
    }
  });

  it('a character device or a FIFO is written directly, not renamed over', () => {
    const nul = device('null');
    writeFileAtomic(nul, 'discarded');
    expect(statSync(nul).isCharacterDevice()).toBe(true);
    expect(tempsBeside(nul)).toEqual([]);
    const fifo = join(tmp(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    let got = '';
    reader.stdout.on('data', (d: Buffer) => (got += d.toString()));
    writeFileAtomic(fifo, 'through the pipe');
    return new Promise<void>((resolve) =>
      reader.on('close', () => {
        expect(got).toBe('through the pipe');
        expect(statSync(fifo).isFIFO()).toBe(true);
        resolve();
      }),
    );
  });

  it('a folder that refuses new files: the message names the path given, not the temporary file', async () => {
    const folder = unwritableFolder();
    const out = join(folder, 'done.bin');
    const r = await run('complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '-o', out);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`ndis-offload: ${out}: permission denied\n`);
    expect(r.err).not.toContain('.tmp');
  });

  it('several files: if one cannot be written, none is replaced', () => {
    const dir = tmp();
    const first = join(dir, 'first.bin');
    writeFileSync(first, 'old');
    const bad = join(unwritableFolder(), 'second.bin');
    let error: NodeJS.ErrnoException | undefined;
    try {
      writeFilesAtomic([
        { path: first, data: 'new' },
        { path: bad, data: 'new' },
      ]);
    } catch (e) {
      error = e as NodeJS.ErrnoException;
    }
    expect(error?.path).toBe(bad);
    expect(readFileSync(first, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['first.bin']);
  });

  it('replacing a file keeps its mode, and a symbolic link stays a link to the new bytes', async () => {
    const dir = tmp();
    const file = join(dir, 'req.bin');
    writeFileSync(file, readFileSync(SAMPLE));
    chmodSync(file, 0o600);
    expect((await run('complete', file, '--base', BASE, '--operation', 'update', '--status', 'c0000001')).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['req.bin']);
    const link = join(dir, 'link.bin');
    symlinkSync(file, link);
    const before = readFileSync(file);
    expect((await run('complete', link, '--base', BASE, '--operation', 'update', '--status', 'NDIS_STATUS_SUCCESS')).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(file).equals(before)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['link.bin', 'req.bin']);
  });
});

/** Runs the real command in a child process with the given standard output. */
function child(argv: string[], stdout: 'pipe' | number, stdin?: Buffer): Promise<{ code: number | null; err: string; out: Buffer }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], { stdio: [stdin ? 'pipe' : 'ignore', stdout, 'pipe'] });
    let err = '';
    const out: Buffer[] = [];
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (stdout === 'pipe') p.stdout!.on('data', (d: Buffer) => out.push(d));
    if (stdin) p.stdin!.end(stdin);
    p.on('close', (code) => resolve({ code, err, out: Buffer.concat(out) }));
  });
}

describe('standard output that fails, in a real process', () => {
  it('standard output on /dev/full: one line, exit 4', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const r = await child(['decode', SAMPLE, '--base', BASE], fd);
      expect(r.err).toBe('ndis-offload: standard output: no space left on the device\n');
      expect(r.code).toBe(4);
    } finally {
      closeSync(fd);
    }
  });

  it('a reader that goes away (a closed pipe): one line, exit 4', async () => {
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'decode', LARGE, '--base', LARGE_BASE, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // Read the first chunk, then close the pipe: the rest of the output has nowhere to go.
      p.stdout.once('data', () => p.stdout.destroy());
      p.on('close', (code) => resolve({ code, err }));
    });
    expect(r.err).toBe('ndis-offload: standard output: the pipe was closed before all the output was written\n');
    expect(r.code).toBe(4);
  });

  it("'-' reads a real standard input, and '-o -' writes a real standard output", async () => {
    const dir = tmp();
    expect((await run('complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '-o', join(dir, 'want.bin'))).code).toBe(0);
    const r = await child(['complete', '-', '--base', BASE, '--operation', 'initiate', '-o', '-'], 'pipe', readFileSync(SAMPLE));
    expect(r.code).toBe(0);
    expect(r.out.equals(readFileSync(join(dir, 'want.bin')))).toBe(true);
    expect(r.err).toMatch(/^completed initiate: 10 blocks .* -> standard output\n/);
  });

  it("'-' with a terminal for standard input is refused at once, not read until end of file", async () => {
    // script(1) gives the command a pseudo-terminal for its standard input.
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', `${process.execPath} --import tsx src/cli/main.ts decode - --base ${BASE}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('close', (code) => resolve({ code, out }));
    });
    expect(r.out.replace(/\r/g, '')).toBe("ndis-offload: '-' reads standard input, which is a terminal: pipe or redirect a capture into it\n");
    expect(r.code).toBe(2);
  });
});
