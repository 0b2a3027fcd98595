import { decodeTree } from '../../tree/decode.js';
import { diffTrees, formatDiffValue } from '../../tree/diff.js';
import type { TreeDocument } from '../../tree/document.js';
import { UsageError } from '../../errors.js';
import { paletteFor } from '../format-tree.js';
import { EXIT, type Io, STDIO, type OptionTable, parseOptions } from '../io.js';
import { SOURCES_HELP, SOURCE_OPTIONS, type SourceValues, inFile, openSource, reportWarnings, sourceAddress } from '../source.js';
import { parseOperation } from './decode.js';

export const DIFF_HELP = `Usage: ndis-offload diff A B --base HEX [--root HEX] [source options] [--operation OP] [--json]
       ndis-offload diff A.DMP B.DMP --root HEX [--operation OP] [--json]
       ndis-offload diff A.DMP B --b-base HEX --root HEX ...

Which fields of which blocks differ between two captures of the same tree (before and after an
operation, say). Blocks are matched by their path in the tree. Exit 0 when nothing differs, 1
when something does.

Each side is its own source. A source option without a side (--base, --dtb, --abi, --ndis,
--root) applies to both; --a-OPTION or --b-OPTION gives it to one side and wins over the
option without a side. --segment and --physical always name their side (--a-segment
FILE@HEX ..., --b-physical IMAGE); A and B are given for the sides that have neither, in that
order. '-' reads one side from standard input.

Sources (each side):
${SOURCES_HELP}

Options:
  --a-OPTION, --b-OPTION    a source option or --root for side A or B only, e.g. --b-base HEX
  --root HEX                address of the root block (default: the side's --base; required for
                            crash dumps and physical images)
  --operation OP            initiate, query, update, invalidate or terminate (both sides)
  --json                    print { "changes": [ { "path", "address", "member", "before",
                            "after" } ], "onlyInA": [...], "onlyInB": [...] }; a member that one
                            side lacks has no "before" (or no "after")

Examples:
  ndis-offload diff fixtures/sample-x64.bin fixtures/sample-x64.bin --base 0xffffc70a12340000
  ndis-offload diff fixtures/sample-x64.dmp fixtures/sample-x64.bin --a-root 0xffffc70a12340f80 --b-base 0xffffc70a12340000
  ndis-offload diff before.bin after.bin --base ffffc70a12340000 --operation initiate --json`;

const SIDES = ['a', 'b'] as const;
type Side = (typeof SIDES)[number];
/** Source options (and --root) that a side may have of its own. */
const SIDED = [...Object.keys(SOURCE_OPTIONS), 'root'] as const;

const sided = (side: Side): OptionTable =>
  Object.fromEntries(SIDED.map((k) => [`${side}-${k}`, k in SOURCE_OPTIONS ? SOURCE_OPTIONS[k as keyof typeof SOURCE_OPTIONS] : { type: 'string' }]));

const DIFF_OPTIONS = {
  ...SOURCE_OPTIONS,
  root: { type: 'string' },
  operation: { type: 'string' },
  json: { type: 'boolean' },
  ...sided('a'),
  ...sided('b'),
} as const;

export function runDiff(argv: string[], io: Io): number {
  const { values: parsed, positionals } = parseOptions(argv, DIFF_OPTIONS);
  const values = parsed as Record<string, string | string[] | boolean | undefined>;
  for (const only of ['segment', 'physical']) {
    if (values[only] !== undefined) throw new UsageError(`diff: --${only} names one side: give --a-${only} or --b-${only}`);
  }
  const operation = parseOperation(values.operation as string | undefined);
  // The sides without a source of their own take A and B, in order.
  const needs = SIDES.filter((s) => values[`${s}-segment`] === undefined && values[`${s}-physical`] === undefined);
  if (positionals.length !== needs.length) {
    const which = needs.length === 2 ? 'two captures A and B' : needs.length === 1 ? `one capture for side ${needs[0]!.toUpperCase()}` : 'no capture (both sides have --a-/--b-segment or --physical)';
    throw new UsageError(`expected ${which}, got ${positionals.length}`);
  }
  if (positionals.filter((p) => p === STDIO).length + SIDES.filter((s) => ((values[`${s}-segment`] as string[] | undefined) ?? []).some((g) => g.startsWith(`${STDIO}@`))).length > 1) {
    throw new UsageError("diff: standard input ('-') can be read once: give one side as a file");
  }
  const docs: TreeDocument[] = [];
  const names: string[] = [];
  for (const side of SIDES) {
    const pick = (k: string): string | string[] | undefined => (values[`${side}-${k}`] ?? values[k]) as string | string[] | undefined;
    const name = (option: string): string => (values[`${side}-${option.slice(2)}`] !== undefined ? `--${side}-${option.slice(2)}` : option);
    // (The side's --root too: it chooses the CPU of an ELF core.)
    const sourceValues = Object.fromEntries([...Object.keys(SOURCE_OPTIONS), 'root'].map((k) => [k, pick(k)]).filter(([, v]) => v !== undefined)) as SourceValues;
    const own = needs.includes(side) ? [positionals[needs.indexOf(side)]!] : [];
    const source = openSource(sourceValues, own, io, name);
    try {
      const rootText = pick('root') as string | undefined;
      let root: bigint;
      if (rootText !== undefined) root = sourceAddress(source, rootText, name('--root'));
      else if (source.base !== undefined) root = source.base;
      else throw new UsageError(`${name('--root')} HEX is required for ${source.name}, ${source.what} (find roots with 'ndis-offload scan')`);
      reportWarnings(source, io);
      docs.push(inFile(source.name, () => decodeTree(source.image, root, { abi: source.abi, ndis: source.ndis, ...(operation ? { operation } : {}) })));
      names.push(source.name);
    } finally {
      source.close();
    }
  }
  const d = diffTrees(docs[0]!, docs[1]!);
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
    io.out(`  ${c.member}: ${p.red(formatDiffValue(c.before))} -> ${p.green(formatDiffValue(c.after))}\n`);
  }
  for (const path of d.onlyInA) io.out(`${p.red(`- ${path}`)} (only in ${names[0]})\n`);
  for (const path of d.onlyInB) io.out(`${p.green(`+ ${path}`)} (only in ${names[1]})\n`);
  const fields = d.changes.length === 1 ? '1 field differs' : `${d.changes.length} fields differ`;
  const alone = d.onlyInA.length + d.onlyInB.length;
  io.out(same ? 'no differences\n' : `${fields}, ${alone} ${alone === 1 ? 'block' : 'blocks'} in one capture only\n`);
  return same ? EXIT.OK : EXIT.PROBLEMS;
}
