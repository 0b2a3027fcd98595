// The ImHex pattern, checked by structure (ImHex itself is not available here): its declarations
// are parsed, every type's size is computed from the pattern's own declared types (ImHex's sizes
// for u8..u128/s8..s128, `using` aliases, enums by their underlying type, bitfields by their bits,
// structs as sums with their explicit padding, unions as maxima), and the offsets that gives to
// every member must be the layout's, in declaration order, with the same C types.
import { describe, expect, it } from 'vitest';
import { hexpatSpec, hexpatTypeName } from '../../src/export/hexpat.js';
import { type Abi, X64, X86 } from '../../src/layout/abi.js';
import { OFFLOAD_STATE_TYPE } from '../../src/layout/constants.js';
import { NDIS_REVISIONS, type NdisRevision } from '../../src/layout/descriptor.js';
import { type LayoutJsonField, layoutToJson } from '../../src/layout/describe.js';
import type { PlacedField } from '../../src/layout/msvc.js';
import { STRUCTS, layoutOf } from '../../src/layout/registry.js';

interface Member {
  /** `padding` for padding[N] / padding : N. */
  name: string;
  type?: string;
  count?: number;
  bits?: number;
  inline: boolean;
}

interface Decl {
  kind: 'struct' | 'union' | 'bitfield' | 'enum' | 'using';
  name: string;
  members: Member[];
  /** enum underlying type / using target. */
  of?: string;
  /** The body has statements other than member declarations (the tree walker). */
  dynamic: boolean;
}

/** Parses the top-level declarations of a pattern (the subset the exporter writes). */
function parsePattern(text: string): { decls: Map<string, Decl>; order: string[]; pragmas: Map<string, string> } {
  const src = text.replace(/\/\/[^\n]*/g, '');
  const decls = new Map<string, Decl>();
  const order: string[] = [];
  const pragmas = new Map<string, string>();
  for (const m of src.matchAll(/^#pragma (\w+)\s*(.*)$/gm)) pragmas.set(m[1]!, m[2]!.trim());
  const body = src.replace(/^#.*$/gm, '').replace(/^import [\w.]+;$/gm, '');
  let i = 0;
  const skipWs = (): void => {
    while (i < body.length && /\s/.test(body[i]!)) i++;
  };
  const block = (): string => {
    // at '{': returns the text inside the balanced braces, i after '}'
    let depth = 0;
    const start = i + 1;
    for (; i < body.length; i++) {
      if (body[i] === '{') depth++;
      else if (body[i] === '}' && --depth === 0) break;
    }
    expect(depth, 'balanced braces').toBe(0);
    return body.slice(start, i++);
  };
  for (skipWs(); i < body.length; skipWs()) {
    const head = /^(struct|union|bitfield|enum|using|fn)\s+(\w+)\s*(?::\s*(\w+))?\s*(=\s*(\w+))?\s*([;{(])/.exec(body.slice(i));
    if (!head) {
      // a top-level placement `Type name @ address;`, or a global variable `[const] Type name[[N]] [= value];`
      const placement = /^(?:const\s+)?[\w:]+\s+\w+\s*(?:\[[^\]]*\]\s*)?(?:[@=][^;]*)?;/.exec(body.slice(i));
      expect(placement, `unparsed pattern text at: ${body.slice(i, i + 60)}`).not.toBeNull();
      i += placement![0].length;
      continue;
    }
    const [, kind, name, under, , target, opener] = head;
    i += head[0].length - 1;
    if (kind === 'fn') {
      while (body[i] !== '{') i++;
      block();
      expect(body[i], `fn ${name} ends with ';'`).toBe(';');
      i++;
      continue;
    }
    if (kind === 'using') {
      expect(opener).toBe(';');
      i++;
      if (target) decls.set(name!, { kind: 'using', name: name!, members: [], of: target, dynamic: false });
      continue;
    }
    expect(opener, `${kind} ${name}`).toBe('{');
    const text = block();
    expect(body[i], `${kind} ${name} ends with ';'`).toBe(';');
    i++;
    const decl: Decl = { kind: kind as Decl['kind'], name: name!, members: [], dynamic: false, ...(under ? { of: under } : {}) };
    if (kind !== 'enum') {
      for (const raw of text.split(';').map((s) => s.trim()).filter(Boolean)) {
        let m: RegExpExecArray | null;
        if ((m = /^padding\s*\[(\d+)\]$/.exec(raw))) decl.members.push({ name: 'padding', count: Number(m[1]), inline: false });
        else if ((m = /^(\w+)\s*:\s*(\d+)$/.exec(raw))) decl.members.push({ name: m[1]!, bits: Number(m[2]), inline: false });
        else if ((m = /^(\w+)\s+(\w+)\s*(?:\[(\d+)\])?\s*(\[\[inline\]\])?$/.exec(raw))) {
          decl.members.push({ name: m[2]!, type: m[1]!, ...(m[3] ? { count: Number(m[3]) } : {}), inline: Boolean(m[4]) });
        } else decl.dynamic = true;
      }
    }
    expect(decls.has(name!), `${name} declared twice`).toBe(false);
    decls.set(name!, decl);
    order.push(name!);
  }
  return { decls, order, pragmas };
}

const BUILTIN = /^([us])(8|16|24|32|48|64|96|128)$/;

/** A placed member of a pattern type, with absolute offsets, like `layout --json`. */
interface Placed extends LayoutJsonField {
  declared: string;
}

class Pattern {
  constructor(
    readonly decls: Map<string, Decl>,
    readonly order: string[],
  ) {}

  /** Types must be declared before use (ImHex evaluates top to bottom). */
  declaredBefore(type: string, user: string): boolean {
    const a = this.order.indexOf(type);
    return a < 0 || a < this.order.indexOf(user);
  }

  sizeOf(type: string): number {
    const b = BUILTIN.exec(type);
    if (b) return Number(b[2]) / 8;
    const d = this.decls.get(type);
    expect(d, `type ${type} is declared`).toBeDefined();
    switch (d!.kind) {
      case 'using':
      case 'enum':
        return this.sizeOf(d!.of!);
      case 'bitfield': {
        const bits = d!.members.reduce((n, m) => n + m.bits!, 0);
        expect(bits % 8, `${type}: whole bytes of bits`).toBe(0);
        return bits / 8;
      }
      case 'struct':
        return d!.members.reduce((n, m) => n + this.memberSize(m), 0);
      case 'union':
        return Math.max(...d!.members.map((m) => this.memberSize(m)));
    }
  }

  memberSize(m: Member): number {
    if (m.name === 'padding') return m.count!;
    return this.sizeOf(m.type!) * (m.count ?? 1);
  }

  /** The members of `type` at `at`: inline members lifted into the parent, bitfields as bit positions. */
  place(type: string, at: number): Placed[] {
    const d = this.decls.get(type)!;
    expect(d.dynamic, `${type} is plain declarations`).toBe(false);
    const out: Placed[] = [];
    let cursor = at;
    for (const m of d.members) {
      const offset = d.kind === 'union' ? at : cursor;
      if (m.name !== 'padding') {
        expect(this.declaredBefore(m.type!, type), `${type}.${m.name}: ${m.type} declared before`).toBe(true);
        const md = this.decls.get(m.type!);
        if (m.inline && md?.kind === 'bitfield') {
          let bit = 0;
          for (const b of md.members) {
            if (b.name !== 'padding') out.push({ name: b.name, offset, size: this.sizeOf(m.type!), type: '', bitOffset: bit, bitWidth: b.bits!, declared: m.type! });
            bit += b.bits!;
          }
        } else if (m.inline) {
          out.push(...this.place(m.type!, offset));
        } else {
          const entry: Placed = { name: m.name, offset, size: this.memberSize(m), type: '', declared: m.count ? `${m.type}[${m.count}]` : m.type! };
          if (md?.kind === 'struct' || md?.kind === 'union') entry.fields = this.place(m.type!, offset);
          out.push(entry);
        }
      }
      cursor += this.memberSize(m);
    }
    return out;
  }
}

/** The pattern type the exporter must have declared for a member (by the layout's own TypeRef). */
function expectedType(f: PlacedField, scope: string): string {
  if (f.type.kind === 'inline') return `${scope}_${f.name}`;
  const name = hexpatTypeName(f.type);
  return f.type.kind === 'array' ? `${name}[${f.type.count}]` : name;
}

function compare(actual: Placed[], expected: readonly PlacedField[], json: readonly LayoutJsonField[], scope: string, path: string): number {
  expect(actual.map((f) => f.name), `${path}: members in order`).toEqual(json.map((f) => f.name));
  let n = 0;
  for (const [i, e] of json.entries()) {
    const a = actual[i]!;
    const f = expected[i]!;
    const at = `${path}.${e.name}`;
    expect({ offset: a.offset, size: a.size, bitOffset: a.bitOffset, bitWidth: a.bitWidth }, at).toEqual({
      offset: e.offset,
      size: e.size,
      bitOffset: e.bitOffset,
      bitWidth: e.bitWidth,
    });
    if (e.bitWidth === undefined) expect(a.declared, `${at}: declared type for ${e.type}`).toBe(expectedType(f, scope));
    const inner = f.type.kind === 'inline' ? `${scope}_${f.name}` : f.type.kind === 'struct' ? f.type.name : scope;
    n += 1 + (e.fields ? compare(a.fields as Placed[], f.fields!, e.fields, inner, at) : 0);
  }
  return n;
}

function aliasTarget(p: Pattern, type: string): string {
  const d = p.decls.get(type);
  return d?.kind === 'using' ? aliasTarget(p, d.of!) : type;
}

describe('the ImHex pattern', () => {
  const combos: Array<[Abi, NdisRevision]> = [X64, X86].flatMap((abi) => NDIS_REVISIONS.map((n) => [abi, n] as [Abi, NdisRevision]));
  for (const [abi, ndis] of combos) {
    it(`${abi.name}, NDIS ${ndis}: every struct, member, type and padding gives the layout's offsets`, () => {
      const { decls, order } = parsePattern(hexpatSpec(abi, ndis));
      const p = new Pattern(decls, order);
      let members = 0;
      for (const s of STRUCTS) {
        const layout = layoutOf(s.name, abi, ndis);
        const d = decls.get(s.name);
        expect(d?.kind, s.name).toBe('struct');
        expect(p.sizeOf(s.name), `${s.name}: size`).toBe(layout.size);
        members += compare(p.place(s.name, 0), layout.fields, layoutToJson(layout).fields, s.name, s.name);
      }
      expect(members).toBeGreaterThan(150);
      // pointers are the ABI's width, the WDK's integer typedefs their C widths
      for (const t of ['PVOID', 'NDIS_HANDLE', 'PNDIS_MINIPORT_OFFLOAD_BLOCK_LIST', 'PNET_BUFFER_LIST', 'PUCHAR', 'PPVOID']) {
        expect(aliasTarget(p, t), t).toBe(`u${abi.pointerSize * 8}`);
      }
      expect(['UCHAR', 'USHORT', 'ULONG', 'NDIS_STATUS', 'TCP_OFFLOAD_CONNECTION_STATE'].map((t) => p.sizeOf(t))).toEqual([1, 2, 4, 4, 4]);
    });
  }

  it('walks the tree: the state by Header.Type, the links, from the first byte at the base address', () => {
    const text = hexpatSpec(X64, '6.1', { base: 0xffffc70a12340000n });
    const { decls, pragmas } = parsePattern(text);
    expect(pragmas.get('endian')).toBe('little');
    expect(pragmas.has('base_address')).toBe(false);
    expect(decls.get('OffloadBlock')?.dynamic).toBe(true);
    const cases = new Map([...text.matchAll(/block\.Header\.Type == (\d+)\) \{\s*\/\/ \w+\s+(\w+) state;/g)].map((m) => [Number(m[1]), m[2]]));
    for (const t of OFFLOAD_STATE_TYPE) {
      expect(cases.get(t.value), t.name).toBe(t.parts.length && t.layer ? (t.combined ?? t.parts[0]) : undefined);
    }
    const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64, '6.1').size;
    for (const [member, name] of [['NextBlock', 'next_block'], ['DependentBlockList', 'dependent_block_list']]) {
      expect(text).toContain(`if (in_image(block.${member}, ${blockSize})) {`);
      expect(text).toContain(`if (${name}_reach == REACH_NEW) { OffloadBlock ${name} @ at(block.${member}); }`);
    }
    expect(text).toContain('OffloadBlock root @ std::mem::base_address();');
    // every statement of the walker ends as ImHex wants it
    for (const line of text.slice(text.indexOf('struct OffloadBlock')).split('\n')) {
      const l = line.replace(/\/\/.*$/, '').trim();
      if (l) expect(l, line).toMatch(/[;{}]$/);
    }
  });
});
