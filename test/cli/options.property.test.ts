/**
 * The rule under every command's options (parseOptions): nothing the user types is dropped.
 * For any option table and any command line, either every option and positional given is in the
 * result exactly as given, or the parse fails on the first thing it cannot honour: an unknown
 * option (named, with the closest known names), or a single-valued option given twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OptionError, type OptionTable, parseOptions } from '../../src/cli/io.js';
import { fcParams } from '../support/arbitraries.js';

/** Option names, some near each other (as mistyped ones are). */
const POOL = ['base', 'bsae', 'root', 'json', 'jsno', 'limit', 'a-base', 'b-base', 'segment', 'fail', 'status', 'max-blocks'];
const text = (chars: string) => fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 8 });

const tableArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...POOL), fc.constantFrom('string', 'boolean'), fc.boolean()), { minLength: 1, maxLength: 6, selector: ([n]) => n })
  .map((entries) => Object.fromEntries(entries.map(([n, type, multiple]) => [n, type === 'string' ? { type, multiple } : { type }])) as OptionTable);

type Arg = { kind: 'option'; name: string; value?: string } | { kind: 'unknown'; name: string } | { kind: 'positional'; value: string };

const caseArb = tableArb.chain((table) => {
  const names = Object.keys(table);
  const known = fc.constantFrom(...names).chain((n) =>
    table[n]!.type === 'string'
      ? text('abz09@.').map((value): Arg => ({ kind: 'option', name: n, value }))
      : fc.constant<Arg>({ kind: 'option', name: n }),
  );
  const unknown = fc.constantFrom(...POOL.filter((n) => !names.includes(n)), 'colour').map((n): Arg => ({ kind: 'unknown', name: n }));
  const positional = text('abz09.').map((value): Arg => ({ kind: 'positional', value }));
  const args = fc.array(fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: unknown }, { weight: 3, arbitrary: positional }), { maxLength: 10 });
  return fc.tuple(fc.constant(table), args, fc.boolean());
});

describe('parseOptions drops nothing', () => {
  it('every option and positional given is in the result, or the first one it cannot honour is refused by name', () => {
    fc.assert(
      fc.property(caseArb, ([table, args, inline]) => {
        const argv = args.flatMap((a) =>
          a.kind === 'positional' ? [a.value] : a.kind === 'unknown' ? [`--${a.name}`] : a.value === undefined ? [`--${a.name}`] : inline ? [`--${a.name}=${a.value}`] : [`--${a.name}`, a.value],
        );
        // What must fail, and on what: the first unknown option, or the first repeat of a single-valued one.
        const seen = new Set<string>();
        let failure: RegExp | undefined;
        for (const a of args) {
          if (a.kind === 'unknown') {
            failure = new RegExp(`^unknown option '--${a.name}'`);
            break;
          }
          if (a.kind === 'option' && table[a.name]!.type === 'string' && !table[a.name]!.multiple && seen.has(a.name)) {
            failure = new RegExp(`^--${a.name} given twice`);
            break;
          }
          if (a.kind === 'option') seen.add(a.name);
        }
        if (failure) {
          let error: unknown;
          try {
            parseOptions(argv, table);
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(OptionError);
          expect((error as Error).message).toMatch(failure);
          return;
        }
        const { values, positionals } = parseOptions(argv, table);
        expect(positionals).toEqual(args.flatMap((a) => (a.kind === 'positional' ? [a.value] : [])));
        const want: Record<string, unknown> = {};
        for (const a of args) {
          if (a.kind !== 'option') continue;
          const o = table[a.name]!;
          if (o.type === 'boolean') want[a.name] = o.multiple ? [...((want[a.name] as boolean[]) ?? []), true] : true;
          else want[a.name] = o.multiple ? [...((want[a.name] as string[]) ?? []), a.value] : a.value;
        }
        expect({ ...values }).toEqual(want);
      }),
      fcParams({ numRuns: 300 }),
    );
  });
});
