import { parseArgs } from 'node:util';
import { SegmentImage } from '../../codec/image.js';
import { abiByName } from '../../layout/abi.js';
import { NDIS_STATUS_VALUES, type NdisStatusName } from '../../layout/constants.js';
import { StatusWriter, type StatusValue } from '../../tree/status-writer.js';
import { DecodeError, UsageError } from '../../errors.js';
import { EXIT, type Io, parseAddress, readFileNamed, writeFileAtomic } from '../io.js';
import { refuseCapture } from '../source.js';
import { parseOperation } from './decode.js';

export const COMPLETE_HELP = `Usage: ndis-offload complete IMAGE --base HEX [--root HEX] --operation OP
                             [--status NAME|HEX] [--fail ADDRESS=NAME ...] [-o OUT]

Completes an operation the way an offload target must: writes the Status of every block.
  placeholder   NDIS_STATUS_SUCCESS
  new offload   --status (default NDIS_STATUS_SUCCESS), or the --fail status for its address
  linker        (initiate) SUCCESS if all its dependents succeeded, OFFLOAD_PARTIAL_SUCCESS if
                some failed, FAILURE if all failed; in other operations, like a new offload
A status the operation does not allow is refused before any byte is written. Only the 4 bytes of
each Status change. Without -o, IMAGE is rewritten in place, atomically. Crash dumps and
physical images are refused (exit 2): they are read-only here.

Options:
  --operation OP         initiate, query, update, invalidate or terminate (required)
  --status NAME|HEX      status for deciding blocks, e.g. NDIS_STATUS_FAILURE or 0xC0000001
  --fail ADDRESS=NAME    status for the block at ADDRESS (repeatable)
  --root HEX             root block (default --base)
  --abi x64|x86          (default x64)
  -o, --out OUT          write the completed image here instead of rewriting IMAGE

Examples:
  ndis-offload complete req.bin --base ffffc70a12340000 --operation initiate -o done.bin
  ndis-offload complete req.bin --base ffffc70a12340000 --operation initiate \\
      --fail 0xffffc70a12340178=NDIS_STATUS_OFFLOAD_TCP_ENTRIES`;

function parseStatusArg(text: string, option: string): StatusValue {
  if (text in NDIS_STATUS_VALUES) return text as NdisStatusName;
  if (/^0x[0-9a-f]{1,8}$/i.test(text)) return Number.parseInt(text, 16) | 0;
  throw new UsageError(`${option}: '${text}' is neither an NDIS_STATUS name nor a 32-bit hex value`);
}

export function runComplete(argv: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      root: { type: 'string' },
      abi: { type: 'string' },
      operation: { type: 'string' },
      status: { type: 'string' },
      fail: { type: 'string', multiple: true },
      out: { type: 'string', short: 'o' },
      // Accepted only to refuse them clearly.
      physical: { type: 'string' },
      dtb: { type: 'string' },
    },
    allowPositionals: true,
  });
  refuseCapture('complete', positionals[0], values.physical);
  if (positionals.length !== 1) throw new UsageError(`expected one IMAGE file, got ${positionals.length}`);
  if (values.base === undefined) throw new UsageError('--base HEX is required');
  const operation = parseOperation(values.operation);
  if (!operation) throw new UsageError('--operation is required (initiate, query, update, invalidate, terminate)');
  const base = parseAddress(values.base, '--base');
  const root = values.root === undefined ? base : parseAddress(values.root, '--root');
  const statusByAddress = new Map<bigint, StatusValue>();
  for (const f of values.fail ?? []) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UsageError(`--fail: '${f}' is not ADDRESS=NAME`);
    statusByAddress.set(parseAddress(f.slice(0, eq), '--fail'), parseStatusArg(f.slice(eq + 1), '--fail'));
  }
  const file = readFileNamed(positionals[0]!);
  if (file.length === 0) throw new DecodeError(0, `${positionals[0]}: the file is empty`);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
  const summary = new StatusWriter().complete(SegmentImage.region(bytes, base), root, {
    operation,
    abi: abiByName(values.abi ?? 'x64'),
    ...(values.status ? { status: parseStatusArg(values.status, '--status') } : {}),
    statusByAddress,
  });
  const out = values.out ?? positionals[0]!;
  writeFileAtomic(out, bytes);
  const roles = Object.entries(summary.byRole).map(([r, c]) => `${c} ${r}`).join(', ');
  const statuses = Object.entries(summary.byStatus).map(([s, c]) => `  ${String(c).padStart(8)}  ${s}`).join('\n');
  io.out(`completed ${operation}: ${summary.blocks} blocks (${roles}) -> ${out}\n${statuses}\n`);
  return EXIT.OK;
}
