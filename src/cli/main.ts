/** The `ndis-offload` command: dispatch, and the one place where errors become exit codes. */
import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';
import { EXIT, describeError, type Io } from './io.js';
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
  demo: { summary: 'write the sample captures the examples use into DIR (default: fixtures)', help: DEMO_HELP, run: runDemo },
  layout: { summary: 'print the C layout of the offload structures', help: LAYOUT_HELP, run: runLayout },
  export: { summary: 'write a Kaitai Struct spec, an ImHex pattern or a Volatility 3 symbol table', help: EXPORT_HELP, run: runExport },
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

Run 'ndis-offload COMMAND --help' for a command's options and examples.`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${mainHelp()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${version()}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command '${name}' (try 'ndis-offload --help')`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${command.help}\n`);
      return EXIT.OK;
    }
    return await command.run(rest, io);
  } catch (e) {
    const { message, exit } = describeError(
      e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
        ? new UsageError(e.message)
        : e,
    );
    io.err(`ndis-offload: ${message}\n`);
    return exit;
  }
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stdoutIsTty: Boolean(process.stdout.isTTY),
  errIsTty: Boolean(process.stderr.isTTY),
  env: process.env,
};

// Run when executed as the bin, not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/ndis-offload$|cli[\\/]main\.(js|ts)$/.test(invoked)) {
  // `ndis-offload decode … | head`: a closed pipe ends the output, it is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
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
