/** What every command shares: argument parsing helpers, exit codes, atomic output. */
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { OffloadError, UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';

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
  /** Binary output on standard output (`-o -`). Absent: such output is refused. */
  outBytes?(bytes: Uint8Array): void;
  /** All of standard input (IMAGE `-`). Absent: `-` is refused. */
  readStdin?(): Uint8Array;
}

/** `-` names standard input or output wherever a file is named. */
export const STDIO = '-';

/** Standard input, read whole (named 'standard input' in messages). */
export function readStdin(io: Io): Uint8Array {
  if (!io.readStdin) throw new UsageError("'-' (standard input) is not available here");
  return io.readStdin();
}

/** Writes `data` to OUT, or to standard output when OUT is `-`. */
export function writeOutput(io: Io, out: string, data: Uint8Array | string): void {
  if (out !== STDIO) return writeFileAtomic(out, data);
  if (typeof data === 'string') return io.out(data);
  if (!io.outBytes) throw new UsageError("'-o -' (standard output) is not available here");
  if (io.stdoutIsTty) throw new UsageError('-o -: standard output is a terminal: redirect it to a file or a pipe, or give -o FILE');
  io.outBytes(data);
}

export type OptionTable = Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly multiple?: boolean; readonly short?: string }>>;

/** What parseOptions gives for a table: every option optional, strings or booleans, arrays when repeatable. */
export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T]?: T[K]['type'] extends 'boolean'
    ? T[K]['multiple'] extends true ? boolean[] : boolean
    : T[K]['multiple'] extends true ? string[] : string;
};

/**
 * A mistyped or misused option: main prefixes the command and adds where to get help
 * (`decode: unknown option '--bsae' (did you mean --base?); see 'ndis-offload help decode'`).
 */
export class OptionError extends UsageError {}

const dashed = (name: string, table: OptionTable): string => (name.length === 1 && !(name in table) ? `-${name}` : `--${name}`);

/**
 * parseArgs over exactly the command's own options: an unknown option is one line with the
 * closest known names, an option given twice (where it is not repeatable) is refused instead of
 * the last one silently winning, and a missing value says which option wants it.
 */
export function parseOptions<const T extends OptionTable>(argv: string[], options: T): { values: OptionValues<T>; positionals: string[] } {
  // `--segment -@HEX` (standard input at HEX) is a value, not an option: parseArgs would call it ambiguous.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : Object.keys(options).find((n) => a === `-${options[n]!.short}`);
    if (name !== undefined && options[name]?.type === 'string' && next?.startsWith(`${STDIO}@`)) {
      args.push(`--${name}=${next}`);
      i++;
    } else args.push(a);
  }
  argv = args;
  const loose = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const known = [...Object.keys(options).map((n) => `--${n}`), ...Object.values(options).flatMap((o) => (o.short ? [`-${o.short}`] : []))];
  const seen = new Map<string, string | undefined>();
  for (const t of loose.tokens) {
    if (t.kind !== 'option') continue;
    const config = options[t.name];
    if (!config) throw new OptionError(`unknown option '${t.rawName}'${didYouMean(t.rawName, known)}`);
    if (!config.multiple && seen.has(t.name) && config.type === 'string') {
      throw new OptionError(`--${t.name} given twice ('${seen.get(t.name)}' and '${t.value}'): give it once`);
    }
    seen.set(t.name, t.value);
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
    return { values: values as OptionValues<T>, positionals };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    const raw = /Option '(-[^' ]+)/.exec((e as Error).message)?.[1];
    const name = raw?.replace(/^-+/, '') ?? '';
    const full = (Object.entries(options).find(([n, o]) => n === name || o.short === name)?.[0]) ?? name;
    if (options[full]?.type === 'boolean') throw new OptionError(`${dashed(full, options)} takes no value`);
    throw new OptionError(`--${full} needs a value${/ambiguous/.test((e as Error).message) ? ` (a value starting with '-' is given as --${full}=VALUE)` : ''}`);
  }
}

/** Options accepted by name only to be refused with the reason: `reason(option)` says why. */
export function refuseOptions(values: Record<string, unknown>, names: readonly string[], reason: (option: string) => string): void {
  for (const n of names) if (values[n] !== undefined) throw new UsageError(reason(`--${n}`));
}

export { parseAddress } from '../codec/address.js';

/** Refuses an address the ABI's pointers cannot hold (x86: above 32 bits). */
export function checkPointerWidth(address: bigint, pointerSize: 4 | 8, option: string, abiName: string): bigint {
  if (address >> BigInt(pointerSize * 8) !== 0n) {
    throw new UsageError(`${option}: 0x${address.toString(16)} does not fit a ${pointerSize * 8}-bit ${abiName} address (--abi ${abiName})`);
  }
  return address;
}

/** Names `path` (the user's) in a system error, whatever file the failing call was given. */
function naming<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const sys = e as NodeJS.ErrnoException;
    if (sys && typeof sys.code === 'string') sys.path = path;
    throw e;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** A file staged beside its target, renamed over it by commit(). */
interface Staged {
  commit(): void;
  discard(): void;
}

/**
 * Writes `data` to a temporary file beside `path` (the real file's folder when `path` is a
 * symbolic link), flushed, keeping the mode of a file it replaces. Errors name `path`.
 */
function stage(path: string, data: Uint8Array | string): Staged {
  let target = path;
  let mode = 0o644;
  try {
    target = realpathSync(path);
    mode = statSync(target).mode & 0o7777;
  } catch {
    // a new file
  }
  if (isFolder(target)) throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR', syscall: 'open', path });
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  let created = false;
  const discard = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  };
  try {
    naming(path, () => {
      fd = openSync(tmp, 'wx', mode);
      created = true;
      if (mode !== 0o644) chmodSync(tmp, mode);
      writeAll(fd, typeof data === 'string' ? new TextEncoder().encode(data) : data);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
    });
  } catch (e) {
    discard();
    throw e;
  }
  return {
    commit: () => {
      try {
        naming(path, () => renameSync(tmp, target));
      } catch (e) {
        discard();
        throw e;
      }
    },
    discard,
  };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `path` exists and is not a regular file (a character device such as /dev/full, a FIFO, a socket). */
function isSpecial(path: string): boolean {
  try {
    const st = statSync(path);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

/** Writes straight into a device or FIFO: there is nothing to rename over it. */
function writeDirect(path: string, data: Uint8Array | string): void {
  naming(path, () => {
    const fd = openSync(path, 'w');
    try {
      writeAll(fd, typeof data === 'string' ? new TextEncoder().encode(data) : data);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Writes a file atomically: a temporary file in the same folder, flushed, then renamed over the
 * target. An error or a kill midway leaves the target as it was. A character device or a FIFO
 * (/dev/null, /dev/full, a named pipe) is written directly: renaming a file over it would
 * replace the device. Errors name `path`, never the temporary file.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  writeFilesAtomic([{ path, data }]);
}

/**
 * Writes several files: every regular file is staged (written and flushed beside its target)
 * before the first is renamed into place, so that an error while writing (a full disk) leaves
 * every target as it was.
 */
export function writeFilesAtomic(files: readonly { path: string; data: Uint8Array | string }[]): void {
  const staged: Staged[] = [];
  try {
    for (const f of files) if (!isSpecial(f.path)) staged.push(stage(f.path, f.data));
  } catch (e) {
    for (const s of staged) s.discard();
    throw e;
  }
  for (const s of staged) s.commit();
  for (const f of files) if (isSpecial(f.path)) writeDirect(f.path, f.data);
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
    const reason = {
      ENOENT: 'no such file or folder',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      EROFS: 'the file system is read-only',
      EISDIR: 'is a folder',
      ENOTDIR: 'a part of the path is not a folder',
      EIO: sys.syscall === 'write' ? 'cannot be written (i/o error)' : 'cannot be read (i/o error)',
      ENOSPC: 'no space left on the device',
      EDQUOT: 'disk quota exceeded',
      EFBIG: 'the file would be too large',
      EPIPE: 'the pipe was closed before all the output was written',
    }[sys.code];
    return { message: `${what}${reason ?? sys.message}`, exit: EXIT.IO };
  }
  return { message: `internal error: ${(e as Error)?.message ?? String(e)}`, exit: 70 };
}
