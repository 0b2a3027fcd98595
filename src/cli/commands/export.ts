import { abiByName } from '../../layout/abi.js';
import { UsageError } from '../../errors.js';
import { exportSpec, parseExportFormat } from '../../export/index.js';
import { EXIT, type Io, checkPointerWidth, parseAddress, parseOptions, refuseOptions, writeOutput } from '../io.js';
import { SOURCE_OPTIONS, parseNdis } from '../source.js';

export const EXPORT_HELP = `Usage: ndis-offload export --format ksy|hexpat|isf [--abi x64|x86] [--ndis 6.0|6.1] [--base HEX] [-o OUT]

Writes the offload structures, generated from the same layouts as every other command, for the
tools of the field:

  ksy      a Kaitai Struct spec: open it with a capture in the Kaitai Web IDE, or compile it
           with kaitai-struct-compiler; it walks the tree from the root block at the first byte
  hexpat   an ImHex pattern: the structures with explicit padding, and the tree from the first byte
  isf      a Volatility 3 symbol table (ISF JSON): the types, for plugins and volshell

Options:
  --format F        ksy, hexpat or isf (required)
  --abi x64|x86     target ABI (default x64)
  --ndis 6.0|6.1    NDIS revision of the host (default 6.1; 6.0 has no DWnd)
  --base HEX        ksy, hexpat: address of the capture's first byte, written into the spec
                    (default 0xffffc00000000000 on x64, 0x80000000 on x86, as encode uses)
  -o, --out OUT     the file to write (atomically); default (or '-o -') standard output

export reads no capture: what it writes describes the structures for the tool that will read
one, and --base, --abi and --ndis mean what they mean on every other command. --segment,
--physical and --dtb are refused: a capture's bytes would change nothing in the spec.

Examples:
  ndis-offload export --format ksy --base 0xffffc70a12340000 -o ndis_offload.ksy
  ndis-offload export --format hexpat --base 0xffffc70a12340000 -o ndis_offload.hexpat
  ndis-offload export --format isf --abi x86 --ndis 6.0 -o ndis_offload-x86.json`;

/** The source options, --segment, --physical and --dtb only to be refused by name. */
const EXPORT_OPTIONS = { ...SOURCE_OPTIONS, format: { type: 'string' }, out: { type: 'string', short: 'o' } } as const;

export function runExport(argv: string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, EXPORT_OPTIONS);
  refuseOptions(values, ['segment', 'physical', 'dtb'], (o) => `${o} does not apply to export: it reads no capture (the spec describes the structures; give --base HEX, the address of the capture's first byte)`);
  if (positionals.length) throw new UsageError(`export takes no arguments but options, got '${positionals[0]}' (it reads no capture)`);
  const format = parseExportFormat(values.format);
  const abi = abiByName(values.abi ?? 'x64');
  const ndis = parseNdis(values.ndis);
  if (values.base !== undefined && format === 'isf') {
    throw new UsageError('--base: a symbol table has no base address (it is for ksy and hexpat)');
  }
  const base = values.base === undefined ? undefined : checkPointerWidth(parseAddress(values.base, '--base'), abi.pointerSize, '--base', abi.name);
  const text = exportSpec(format, abi, ndis, base === undefined ? {} : { base });
  writeOutput(io, values.out ?? '-', text);
  return EXIT.OK;
}
