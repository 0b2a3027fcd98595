/** What every command shares: argument parsing helpers, exit codes, atomic output. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OffloadError, UsageError } from '../errors.js';

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  OK: 0,
  /** validate: problems found. */
  PROBLEMS: 1,
  USAGE: 2,
  /** Input that cannot be decoded or encoded. */
  INPUT: 3,
  /** A file could not be read or written. */
  IO: 4,
} as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTty: boolean;
  /** stderr is a terminal: progress bars are drawn there (scan of large sources). Absent: false. */
  readonly errIsTty?: boolean;
  readonly env: NodeJS.ProcessEnv;
}

/** Parses `0xffff...`, `ffff...` or a windbg-style `ffffc70a`12340000`; bigint, never a lossy number. */
export function parseAddress(text: string, option: string): bigint {
  const clean = text.replace(/`/g, '').replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(clean)) {
    throw new UsageError(`${option}: '${text}' is not a hexadecimal address of at most 64 bits`);
  }
  return BigInt(`0x${clean}`);
}

/**
 * Writes a file atomically: a temporary file in the same folder, flushed, then renamed over the
 * target. An error or a kill midway leaves the target as it was.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw e;
  }
}

/**
 * readFileSync, with the file named in its error: a failed read (EIO on a bad disk, a special file)
 * reports no path of its own, and the user must be told which argument was at fault.
 */
export function readFileNamed(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const sys = e as NodeJS.ErrnoException;
    if (sys && typeof sys.code === 'string' && sys.path === undefined) sys.path = path;
    throw e;
  }
}

/** One line for the user: the typed error's message, or the system's for I/O failures. */
export function describeError(e: unknown): { message: string; exit: number } {
  if (e instanceof UsageError) return { message: e.message, exit: EXIT.USAGE };
  if (e instanceof OffloadError) return { message: e.message, exit: EXIT.INPUT };
  const sys = e as NodeJS.ErrnoException;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const what = sys.path ? `${sys.path}: ` : '';
    const reason = { ENOENT: 'no such file or folder', EACCES: 'permission denied', EISDIR: 'is a folder', EIO: 'cannot be read (i/o error)' }[sys.code];
    return { message: `${what}${reason ?? sys.message}`, exit: EXIT.IO };
  }
  return { message: `internal error: ${(e as Error)?.message ?? String(e)}`, exit: 70 };
}
