// What makes the ImHex pattern load and end in the released ImHex (1.38.x), checked without ImHex
// (it cannot be installed here), against what its sources do:
// - ImHex 1.38 reads `#pragma base_address` with wolv::util::from_chars<i64>: a number above 2^63-1
//   (every x64 kernel address) fails the pragma and the whole pattern. The x64 pattern has no such
//   pragma (the x86 one has, and its value parses so); no number of any pragma is above 2^63-1, and
//   no literal of any pattern above 2^32.
// - the capture's address is capture_base(), built from 32-bit halves; it must be the base given.
// - a block that a second link or a cycle leads to is walked once: the pattern's table of blocks
//   reached (`reach`) is run here, translated line by line to JavaScript BigInt (the subset of the
//   pattern language it uses: u128 variables, while, if, return, + * / % == != < >), against a model;
//   and every OffloadBlock the walk places is guarded by a first `reach` of the same pointer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE } from '../../src/export/index.js';
import { HEXPAT_MAX_SLOTS, hexpatSpec } from '../../src/export/hexpat.js';
import { type Abi, X64, X86 } from '../../src/layout/abi.js';
import { NDIS_REVISIONS } from '../../src/layout/descriptor.js';
import { layoutOf } from '../../src/layout/registry.js';
import { fcParams } from '../support/arbitraries.js';

/** The pattern's code: comments and string literals removed. */
const code = (text: string): string => text.replace(/\/\/[^\n]*/g, '').replace(/"(?:[^"\\\n]|\\.)*"/g, '""');

/** std::from_chars<i64> after wolv's prefix detection: what ImHex 1.38 does with a base_address pragma. */
function fromCharsI64(value: string): bigint | undefined {
  const t = value.trim();
  const m = /^0[xX]([0-9a-fA-F]+)$/.exec(t) ?? /^0[bB]([01]+)$/.exec(t) ?? /^0[oO]([0-7]+)$/.exec(t) ?? /^(-?[0-9]+)$/.exec(t);
  if (!m) return undefined;
  const radix = t[1] === 'x' || t[1] === 'X' ? '0x' : t[1] === 'b' || t[1] === 'B' ? '0b' : t[1] === 'o' || t[1] === 'O' ? '0o' : '';
  const v = m[1]!.startsWith('-') ? -BigInt(m[1]!.slice(1)) : BigInt(radix + m[1]);
  return v >= -(1n << 63n) && v <= (1n << 63n) - 1n ? v : undefined;
}

const BASES: ReadonlyArray<readonly [Abi, bigint]> = [
  [X64, DEFAULT_BASE.x64],
  [X64, 0xffffc70a12340000n],
  [X64, 0xfffff80312345678n],
  [X64, 0xffffffffffff0000n],
  [X64, 0x0000000012340000n],
  [X86, DEFAULT_BASE.x86],
  [X86, 0xfffff000n],
];

describe('the ImHex pattern in the released ImHex', () => {
  for (const [abi, base] of BASES) {
    for (const ndis of NDIS_REVISIONS) {
      it(`${abi.name}, NDIS ${ndis}, base 0x${base.toString(16)}: no pragma or literal a signed 64-bit parse refuses`, () => {
        const text = hexpatSpec(abi, ndis, { base });
        const pragmas = [...text.matchAll(/^#pragma (\w+)\s*(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
        const baseAddress = pragmas.filter(([name]) => name === 'base_address');
        if (abi.pointerSize === 8) {
          expect(baseAddress).toEqual([]);
          expect(fromCharsI64(`0x${base.toString(16)}`) === undefined, 'the base itself would be refused').toBe(base >= 1n << 63n);
        } else {
          expect(baseAddress).toHaveLength(1);
          expect(fromCharsI64(baseAddress[0]![1])).toBe(base);
        }
        for (const [name, value] of pragmas) {
          if (/^[0-9]/.test(value)) expect(fromCharsI64(value), `#pragma ${name} ${value}`).toBeDefined();
        }
        const literals = code(text.replace(/^#.*$/gm, '')).match(/\b(0x[0-9a-fA-F]+|[0-9]+)\b/g) ?? [];
        expect(literals.length).toBeGreaterThan(150);
        for (const l of literals) expect(BigInt(l) <= 0xffffffffn, l).toBe(true);
        // the capture's address, from its halves
        const m = /fn capture_base\(\) \{\s*return (?:\((0x[0-9a-f]{8}) << 32\) \| )?(0x[0-9a-f]{8});\s*\};/.exec(text);
        expect(m, 'fn capture_base').not.toBeNull();
        expect((BigInt(m![1] ?? 0) << 32n) | BigInt(m![2]!)).toBe(base);
      });
    }
  }

  it('places every block it walks at pointer - capture_base(), and only after a first reach of that pointer', () => {
    for (const abi of [X64, X86]) {
      const text = code(hexpatSpec(abi, '6.1'));
      const body = text.slice(text.indexOf('struct OffloadBlock {'), text.indexOf('u8 root_reach'));
      const placed = [...body.matchAll(/\bOffloadBlock (\w+) @ ([^;]+);/g)];
      expect(placed.map((p) => p[1])).toEqual(['next_block', 'dependent_block_list']);
      for (const [, name, where] of placed) {
        const pointer = /^at\((block\.\w+)\)$/.exec(where!)?.[1];
        expect(pointer, `${name} @ ${where}`).toBeDefined();
        expect(body).toContain(`u8 ${name}_reach = reach(${pointer} - capture_base());`);
        expect(body).toContain(`if (${name}_reach == REACH_NEW) { OffloadBlock ${name} @ at(${pointer}); }`);
        // one reached before is shown as the block structure, not walked
        expect(body).toContain(`else if (${name}_reach == REACH_BEFORE) { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST ${name}_reached_before @ at(${pointer}); }`);
      }
      // every other placement in the walk is at a pointer of the capture, translated the same way
      for (const m of body.matchAll(/@ ([^;]+);/g)) expect(m[1], m[0]).toMatch(/^(at\([\w.]+\)|addressof\([\w.]+\))$/);
      // the root is the first block reached, at the first byte of the capture
      expect(text).toMatch(/u8 root_reach = reach\(0\);\s*OffloadBlock root @ std::mem::base_address\(\);\s*$/);
    }
  });

  /** `reach` and the globals it uses, run as JavaScript over a capture of `size` bytes. */
  function tableOf(text: string, size: bigint): { reach(o: bigint): bigint; slots: bigint; NEW: bigint; BEFORE: bigint; FULL: bigint } {
    const src = code(text);
    const from = src.indexOf('const u8 REACH_NEW');
    const to = src.indexOf('fn state_length_matches');
    expect(from).toBeGreaterThan(0);
    const js = src
      .slice(from, to)
      .replace(/\bfn (\w+)\(([^)]*)\) \{/g, (_, name: string, params: string) => {
        const names = params.split(',').map((p) => p.trim().split(/\s+/).pop()).filter(Boolean);
        return `function ${name}(${names.join(', ')}) {`;
      })
      .replace(/^\};$/gm, '}')
      .replace(/\bconst u8 (\w+) =/g, 'const $1 =')
      .replace(/\bu128 (\w+)\[(\w+)\];/g, 'let $1 = new Array(Number($2)).fill(0n);')
      .replace(/\bu(?:8|128) (\w+) =/g, 'let $1 =')
      .replace(/std::mem::size\(\)/g, 'SIZE')
      .replace(/\b(0x[0-9a-fA-F]+|[0-9]+)\b/g, '$1n');
    expect(js, 'only the subset translated here').not.toMatch(/::|\bu\d+\b|\$/);
    return new Function('SIZE', `${js}\nreturn { reach, slots: reached_slots, NEW: REACH_NEW, BEFORE: REACH_BEFORE, FULL: REACH_TABLE_FULL };`)(size);
  }

  it('runs its table of blocks reached: new once, before after, full past its room (translated to JavaScript)', () => {
    for (const abi of [X64, X86]) {
      const text = hexpatSpec(abi, '6.1');
      const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, '6.1');
      expect(Number(/#pragma loop_limit (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(HEXPAT_MAX_SLOTS);
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: 1n << 32n }),
          fc.array(fc.bigInt({ min: 0n, max: 1n << 32n }), { maxLength: 200 }),
          fc.integer({ min: 0, max: 100 }),
          (size, fresh, repeats) => {
            const t = tableOf(text, size);
            // room for every block the capture holds apart, within the pattern's limit, as a power of two
            const holds = size / BigInt(block.size);
            expect(t.slots & (t.slots - 1n)).toBe(0n);
            expect(t.slots >= 64n && t.slots <= BigInt(HEXPAT_MAX_SLOTS)).toBe(true);
            if (t.slots < BigInt(HEXPAT_MAX_SLOTS)) expect(t.slots >= 2n * holds + 2n).toBe(true);
            // the root, offsets (aligned or not, some repeated), and a model of what reach must say
            const offsets = [0n, ...fresh, ...fresh.slice(0, repeats)];
            const stored = new Set<bigint>();
            for (const o of offsets) {
              const want = stored.has(o) ? t.BEFORE : 2n * BigInt(stored.size + 1) > t.slots ? t.FULL : t.NEW;
              if (want === t.NEW) stored.add(o);
              expect(t.reach(o), `reach(${o})`).toBe(want);
            }
          },
        ),
        fcParams({ numRuns: 60 }),
      );
      // past its room: a capture of 64 slots takes 32 blocks, then says full, and still knows the 32
      const small = tableOf(text, 0n);
      expect(small.slots).toBe(64n);
      for (let i = 0n; i < 32n; i++) expect(small.reach(i * 8n)).toBe(small.NEW);
      expect(small.reach(4096n)).toBe(small.FULL);
      for (let i = 0n; i < 32n; i++) expect(small.reach(i * 8n)).toBe(small.BEFORE);
    }
  });
});
