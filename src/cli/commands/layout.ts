import { abiByName } from '../../layout/abi.js';
import { formatLayoutText, layoutToJson } from '../../layout/describe.js';
import { STRUCTS, descriptorOf, layoutOf } from '../../layout/registry.js';
import { UsageError } from '../../errors.js';
import { EXIT, type Io, parseOptions } from '../io.js';
import { parseNdis } from '../source.js';

export const LAYOUT_HELP = `Usage: ndis-offload layout [STRUCT] [--abi x64|x86] [--ndis 6.0|6.1] [--json]

Prints where every member of the offload structures lies, as the Microsoft C compiler lays
them out: offsets, sizes, bit-field positions. Without STRUCT, every structure. STRUCT is
named as in the WDK or as WinDbg types it (_NDIS_MINIPORT_OFFLOAD_BLOCK_LIST), in any case.

Options:
  --abi x64|x86     target ABI (default x64)
  --ndis 6.0|6.1    NDIS revision of the host (default 6.1; 6.0 has no DWnd)
  --json            [{ name, size, align, fields: [{ name, offset, size, type, bitOffset?, bitWidth?, fields? }] }]

Examples:
  ndis-offload layout NDIS_MINIPORT_OFFLOAD_BLOCK_LIST
  ndis-offload layout _tcp_offload_state_cached
  ndis-offload layout TCP_OFFLOAD_STATE_DELEGATED --abi x86 --ndis 6.0
  ndis-offload layout --json > layout-x64.json

Structures: ${STRUCTS.map((s) => s.name).join(', ')}`;

export { parseNdis };

const LAYOUT_OPTIONS = { abi: { type: 'string' }, ndis: { type: 'string' }, json: { type: 'boolean' } } as const;

export function runLayout(argv: string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, LAYOUT_OPTIONS);
  if (positionals.length > 1) throw new UsageError(`layout takes at most one structure name, got ${positionals.length}`);
  const abi = abiByName(values.abi ?? 'x64');
  const ndis = parseNdis(values.ndis);
  const names = positionals.length ? [descriptorOf(positionals[0]!).name] : STRUCTS.map((s) => s.name);
  const layouts = names.map((n) => layoutOf(n, abi, ndis));
  if (values.json) io.out(`${JSON.stringify(layouts.map(layoutToJson), null, 2)}\n`);
  else io.out(`${layouts.map(formatLayoutText).join('\n\n')}\n`);
  return EXIT.OK;
}
