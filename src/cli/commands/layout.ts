import { parseArgs } from 'node:util';
import { abiByName } from '../../layout/abi.js';
import { type NdisRevision, NDIS_REVISIONS } from '../../layout/descriptor.js';
import { formatLayoutText, layoutToJson } from '../../layout/describe.js';
import { STRUCTS, descriptorOf, layoutOf } from '../../layout/registry.js';
import { UsageError } from '../../errors.js';
import { EXIT, type Io } from '../io.js';

export const LAYOUT_HELP = `Usage: ndis-offload layout [STRUCT] [--abi x64|x86] [--ndis 6.0|6.1] [--json]

Prints where every member of the offload structures lies, as the Microsoft C compiler lays
them out: offsets, sizes, bit-field positions. Without STRUCT, every structure.

Options:
  --abi x64|x86     target ABI (default x64)
  --ndis 6.0|6.1    NDIS revision of the host (default 6.1; 6.0 has no DWnd)
  --json            [{ name, size, align, fields: [{ name, offset, size, type, bitOffset?, bitWidth?, fields? }] }]

Examples:
  ndis-offload layout NDIS_MINIPORT_OFFLOAD_BLOCK_LIST
  ndis-offload layout TCP_OFFLOAD_STATE_DELEGATED --abi x86 --ndis 6.0
  ndis-offload layout --json > layout-x64.json

Structures: ${STRUCTS.map((s) => s.name).join(', ')}`;

export function parseNdis(text: string | undefined): NdisRevision {
  if (text === undefined) return '6.1';
  const t = text === '6.2' || text === '6.3' || text === '6.20' || text === '6.30' ? '6.1' : text;
  if (!(NDIS_REVISIONS as readonly string[]).includes(t)) {
    throw new UsageError(`--ndis: '${text}' is not an NDIS revision (expected 6.0 or 6.1)`);
  }
  return t as NdisRevision;
}

export function runLayout(argv: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      abi: { type: 'string' },
      ndis: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new UsageError(`layout takes at most one structure name, got ${positionals.length}`);
  const abi = abiByName(values.abi ?? 'x64');
  const ndis = parseNdis(values.ndis);
  const names = positionals.length ? [descriptorOf(positionals[0]!).name] : STRUCTS.map((s) => s.name);
  const layouts = names.map((n) => layoutOf(n, abi, ndis));
  if (values.json) io.out(`${JSON.stringify(layouts.map(layoutToJson), null, 2)}\n`);
  else io.out(`${layouts.map(formatLayoutText).join('\n\n')}\n`);
  return EXIT.OK;
}
