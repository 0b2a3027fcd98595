/** The `ndis-offload` command: dispatch, and the one place where errors become exit codes. */
import { readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeControls } from '../codec/text.js';
import { UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { EXIT, OptionError, describeError, type Io } from './io.js';
import { LAYOUT_HELP, runLayout } from './commands/layout.js';
import { DECODE_HELP, VALIDATE_HELP, runDecode, runValidate } from './commands/decode.js';
import { ENCODE_HELP, runEncode } from './commands/encode.js';
import { COMPLETE_HELP, runComplete } from './commands/complete.js';
import { EXPORT_HELP, runExport } from './commands/export.js';
import { DEMO_HELP, runDemo } from './commands/demo.js';
import { HEXDUMP_HELP, runHexdump } from './commands/hexdump.js';
import { DIFF_HELP, runDiff } from './commands/diff.js';
import { INFO_HELP, runInfo } from './commands/info.js';
import { SCAN_HELP, runScan } from './commands/scan.js';
import { COMPLETION_HELP, runCompletion } from './commands/completion.js';
import { SERVE_HELP, runServe } from './commands/serve.js';

interface Command {
  readonly summary: string;
  readonly help: string;
  run(argv: string[], io: Io): number | Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  decode: { summary: 'decode the offload state tree in captured memory', help: DECODE_HELP, run: runDecode },
  validate: { summary: 'check a tree and print only the problems', help: VALIDATE_HELP, run: runValidate },
  encode: { summary: 'encode a tree document to memory, or onto a capture', help: ENCODE_HELP, run: runEncode },
  complete: { summary: 'write the Status of every block to complete an operation', help: COMPLETE_HELP, run: runComplete },
  hexdump: { summary: 'annotated hex view: every byte labelled with its structure and member', help: HEXDUMP_HELP, run: runHexdump },
  diff: { summary: 'which fields of which blocks differ between two captures', help: DIFF_HELP, run: runDiff },
  scan: { summary: 'find the roots of offload state trees in a crash dump or any capture', help: SCAN_HELP, run: runScan },
  info: { summary: 'what a Windows kernel crash dump says about itself', help: INFO_HELP, run: runInfo },
  serve: { summary: 'open captures in the web inspector, served on 127.0.0.1', help: SERVE_HELP, run: runServe },
  demo: { summary: 'write the sample captures the examples use into DIR (default: fixtures)', help: DEMO_HELP, run: runDemo },
  layout: { summary: 'print the C layout of the offload structures', help: LAYOUT_HELP, run: runLayout },
  export: { summary: 'write a Kaitai Struct spec, an ImHex pattern or a Volatility 3 symbol table', help: EXPORT_HELP, run: runExport },
  completion: { summary: 'print a bash or zsh script that completes commands, options and values', help: COMPLETION_HELP, run: (argv, io) => runCompletion(argv, io, COMMANDS) },
};

function version(): string {
  // dist/cli/main.js and src/cli/main.ts both sit two folders below package.json
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `Usage: ndis-offload COMMAND [ARGS]

Reads and writes Windows TCP chimney offload state trees (NDIS_MINIPORT_OFFLOAD_BLOCK_LIST)
byte for byte as the Windows kernel lays them out.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run 'ndis-offload help COMMAND' (or 'ndis-offload COMMAND --help') for a command's options and examples.`;
}

/** The command of that name, or a usage error with the closest names. */
function commandNamed(name: string): Command {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw new UsageError(`unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}; see 'ndis-offload help'`);
  return command;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.out(`${mainHelp()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${version()}\n`);
    return EXIT.OK;
  }
  try {
    if (name === 'help') {
      // `help` alone: the main help; `help COMMAND`: the command's.
      const topics = rest.filter((a) => a !== '--help' && a !== '-h');
      if (topics.length > 1) throw new UsageError(`help takes one COMMAND, got ${topics.length}: ${topics.join(' ')}`);
      io.out(`${topics.length ? commandNamed(topics[0]!).help : mainHelp()}\n`);
      return EXIT.OK;
    }
    const command = commandNamed(name);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${command.help}\n`);
      return EXIT.OK;
    }
    try {
      return await command.run(rest, io);
    } catch (e) {
      if (e instanceof OptionError) e.message = `${name}: ${e.message}; see 'ndis-offload help ${name}'`;
      // A command that still calls parseArgs itself: its error in the same form.
      const code = (e as NodeJS.ErrnoException).code;
      if (e instanceof TypeError && code?.startsWith('ERR_PARSE_ARGS')) {
        const unknown = /^Unknown option '([^']+)'/.exec(e.message)?.[1];
        throw new UsageError(`${name}: ${unknown ? `unknown option '${unknown}'` : e.message.split('\n')[0]}; see 'ndis-offload help ${name}'`);
      }
      throw e;
    }
  } catch (e) {
    const { message, exit } = describeError(e);
    // One line, whatever the message quotes: a parser quoting the bytes it choked on, a file name.
    io.err(`ndis-offload: ${escapeControls(message).replace(/\n/g, ' ')}\n`);
    return exit;
  }
}

/** Standard input read whole, from whatever it is (a file, a pipe, a terminal until end of file). */
function readAllStdin(): Uint8Array {
  if (process.stdin.isTTY) throw new UsageError("'-' reads standard input, which is a terminal: pipe or redirect a capture into it");
  const chunks: Buffer[] = [];
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const chunk = Buffer.alloc(1 << 20);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      const sys = e as NodeJS.ErrnoException;
      if (sys.code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 10); // a non-blocking descriptor with nothing yet: wait, then read again
        continue;
      }
      if (sys.code === 'EOF') break;
      sys.path = 'standard input';
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, all.length);
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  outBytes: (b) => process.stdout.write(b),
  readStdin: readAllStdin,
  stdoutIsTty: Boolean(process.stdout.isTTY),
  errIsTty: Boolean(process.stderr.isTTY),
  env: process.env,
};

/**
 * A failed write to standard output (a full disk, /dev/full, a pipe whose reader has gone): one
 * line naming it, and the i/o exit code, never a stack trace; nothing more is written.
 */
export function stdoutFailure(e: NodeJS.ErrnoException): { message: string; exit: number } {
  const sys = Object.assign(e, { path: 'standard output', syscall: e.syscall ?? 'write' });
  return describeError(sys);
}

// Run when executed as the bin, not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/ndis-offload$|cli[\\/]main\.(js|ts)$/.test(invoked)) {
  // A full disk, /dev/full or a closed pipe (`ndis-offload decode … | head`): one line, exit 4.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    const { message, exit } = stdoutFailure(e);
    process.stderr.write(`ndis-offload: ${message}\n`);
    process.exit(exit);
  });
  main(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`ndis-offload: internal error: ${(e as Error).message}\n`);
      process.exitCode = 70;
    },
  );
}
