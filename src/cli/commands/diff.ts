import { parseArgs } from 'node:util';
import { SegmentImage } from '../../codec/image.js';
import { abiByName } from '../../layout/abi.js';
import { decodeTree } from '../../tree/decode.js';
import { diffTrees } from '../../tree/diff.js';
import { UsageError } from '../../errors.js';
import { paletteFor } from '../format-tree.js';
import { EXIT, type Io, parseAddress } from '../io.js';
import { readRegion } from '../source.js';
import { parseNdis } from './layout.js';
import { parseOperation } from './decode.js';

export const DIFF_HELP = `Usage: ndis-offload diff A B --base HEX [--root HEX] [--abi x64|x86] [--ndis 6.0|6.1] [--operation OP] [--json]

Which fields of which blocks differ between two captures of the same tree (before and after an
operation, say). Blocks are matched by their path in the tree. Exit 0 when nothing differs, 1
when something does.

Examples:
  ndis-offload diff fixtures/sample-x64.bin fixtures/sample-x64.bin --base 0xffffc70a12340000
  ndis-offload diff before.bin after.bin --base ffffc70a12340000 --operation initiate --json`;

export function runDiff(argv: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      root: { type: 'string' },
      abi: { type: 'string' },
      ndis: { type: 'string' },
      operation: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 2) throw new UsageError(`expected two captures A and B, got ${positionals.length}`);
  if (values.base === undefined) throw new UsageError('--base HEX is required');
  const base = parseAddress(values.base, '--base');
  const root = values.root === undefined ? base : parseAddress(values.root, '--root');
  const operation = parseOperation(values.operation);
  const options = { abi: abiByName(values.abi ?? 'x64'), ndis: parseNdis(values.ndis), ...(operation ? { operation } : {}) };
  const [a, b] = positionals.map((file) => decodeTree(new SegmentImage([readRegion(file, base)]), root, options));
  const d = diffTrees(a!, b!);
  const same = d.changes.length === 0 && d.onlyInA.length === 0 && d.onlyInB.length === 0;
  if (values.json) {
    io.out(`${JSON.stringify(d, null, 2)}\n`);
    return same ? EXIT.OK : EXIT.PROBLEMS;
  }
  const p = paletteFor(io.stdoutIsTty, io.env);
  let last = '';
  for (const c of d.changes) {
    if (c.path !== last) io.out(`${p.bold(c.path)} ${p.cyan(c.address)}\n`);
    last = c.path;
    io.out(`  ${c.member}: ${p.red(String(c.before))} -> ${p.green(String(c.after))}\n`);
  }
  for (const path of d.onlyInA) io.out(`${p.red(`- ${path}`)} (only in ${positionals[0]})\n`);
  for (const path of d.onlyInB) io.out(`${p.green(`+ ${path}`)} (only in ${positionals[1]})\n`);
  io.out(same ? 'no differences\n' : `${d.changes.length} fields differ, ${d.onlyInA.length + d.onlyInB.length} blocks in one capture only\n`);
  return same ? EXIT.OK : EXIT.PROBLEMS;
}
