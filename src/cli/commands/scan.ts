import { hexPtr } from '../../tree/document.js';
import { type ScanCandidate, scanImage } from '../../tree/scan.js';
import { UsageError } from '../../errors.js';
import { paletteFor } from '../format-tree.js';
import { EXIT, type Io, parseOptions, refuseOptions } from '../io.js';
import { progressBar } from '../progress.js';
import { SOURCES_HELP, SOURCE_OPTIONS, inFile, openSource, reportWarnings } from '../source.js';

export const SCAN_HELP = `Usage: ndis-offload scan MEMORY.DMP|CAPTURE [--limit N] [--json]
       ndis-offload scan --physical IMAGE [--dtb HEX] [--limit N] [--json]
       ndis-offload scan IMAGE --base HEX [--abi x64|x86] [--limit N] [--json]

Finds offload state trees nobody gave an address for: looks at every mapped page (the kernel
half of a dump's or VM core's address space) for plausible NDIS_MINIPORT_OFFLOAD_BLOCK_LISTs,
links those that point to each other, and prints the roots, best first, with their blocks per layer and
role and a score (higher: more blocks that link up, Types that fit their layer, state Lengths
that match). Decode one with --root ADDRESS. Exit 0 when something was found, 1 when not.

Sources:
${SOURCES_HELP}

--ndis is refused: a scan accepts the state Lengths of every NDIS revision (give it to decode).

Options:
  --limit N                 print at most N roots (default 20)
  --json                    print { "candidates": [ { "address", "blocks", "layers", "roles",
                            "score" } ] }

A progress bar is drawn on stderr for sources over 256 MiB when stderr is a terminal.

Examples:
  ndis-offload scan fixtures/sample-x64.dmp
  ndis-offload scan fixtures/large-x64.bin --base 0xffffc70a30000000 --limit 3
  ndis-offload scan --physical memory.raw --dtb 0x1aa000 --json`;

const SCAN_OPTIONS = { ...SOURCE_OPTIONS, limit: { type: 'string' }, json: { type: 'boolean' } } as const;

export function runScan(argv: string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, SCAN_OPTIONS);
  refuseOptions(values, ['ndis'], (o) => `${o} does not apply to scan: it accepts the state Lengths of every NDIS revision (give ${o} to decode)`);
  let limit = 20;
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1) throw new UsageError(`--limit: '${values.limit}' is not a positive integer`);
    limit = Number(values.limit);
  }
  const source = openSource(values, positionals, io);
  let found: ScanCandidate[];
  let ptr: number;
  const bar = progressBar(io);
  try {
    const abi = source.abi;
    ptr = abi.pointerSize;
    reportWarnings(source, io);
    try {
      found = inFile(source.name, () => scanImage(source.image, { abi, progress: (done, total) => bar.update(done, total), onWarning: (m) => io.err(`ndis-offload: warning: ${m}\n`) }));
    } finally {
      bar.end();
    }
  } finally {
    source.close();
  }
  const shown = found.slice(0, limit);
  const addr = (a: bigint): string => hexPtr(a, ptr);
  if (values.json) {
    const candidates = shown.map((c) => ({ address: addr(c.address), blocks: c.blocks, layers: c.layers, roles: c.roles, score: c.score }));
    io.out(`${JSON.stringify({ candidates }, null, 2)}\n`);
    return found.length ? EXIT.OK : EXIT.PROBLEMS;
  }
  if (found.length === 0) {
    io.out(`no plausible offload state tree in ${source.name}\n`);
    return EXIT.PROBLEMS;
  }
  const p = paletteFor(io.stdoutIsTty, io.env);
  const head = ['root', 'blocks', 'neighbor', 'path', 'tcp', 'placeholder', 'linker', 'new-offload', 'score'];
  const rows = shown.map((c) => [
    addr(c.address),
    String(c.blocks),
    String(c.layers.neighbor),
    String(c.layers.path),
    String(c.layers.tcp),
    String(c.roles.placeholder),
    String(c.roles.linker),
    String(c.roles['new-offload']),
    String(c.score),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const pad = (cells: string[]): string[] => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)));
  io.out(`${p.bold(pad(head).join('  '))}\n`);
  for (const r of rows) {
    const cells = pad(r);
    cells[0] = p.cyan(cells[0]!);
    io.out(`${cells.join('  ')}\n`);
  }
  const more = found.length > shown.length ? ` (${found.length - shown.length} more: --limit ${found.length})` : '';
  io.out(`${found.length} ${found.length === 1 ? 'root' : 'roots, best first'}${more}; decode ${found.length === 1 ? 'it' : 'one'} with --root ADDRESS\n`);
  return EXIT.OK;
}
