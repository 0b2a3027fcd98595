/**
 * Asks the C compiler where it puts every structure and member, and compares that with the
 * layout engine.
 *
 * The probe is one C program: the declarations from c-decl.ts, then one constant object holding
 * what the compiler computed: sizeof and _Alignof of each structure, offsetof and sizeof of each
 * member by its access path (`KeepAlive.TimeoutDelta`, `SendBacklogSize`), and for each bit-field
 * an image of its structure with everything zero but that bit-field set to all ones (the bytes
 * are scanned here for its first and last bit). Its member list comes from the descriptors, not
 * from the engine, so a member the engine drops or invents shows up as a mismatch.
 *
 * The object is read from the compiled object file (`compileAndExtract`), so no program has to
 * run; this checks x86 even where 32-bit programs cannot execute. `main` rebuilds the same object
 * at run time (memset to 0, assign -1 to the bit-field) and prints it, so running the program
 * (`how: 'run'`) checks that reading the object file gives what a running program sees.
 */
import type { Abi } from '../../src/layout/abi.js';
import { cDeclarations } from '../../src/layout/c-decl.js';
import type { LayoutJson, LayoutJsonField } from '../../src/layout/describe.js';
import { NDIS_REVISIONS, type Member, type NdisRevision, type StructDescriptor } from '../../src/layout/descriptor.js';
import type { PlacedField, StructLayout } from '../../src/layout/msvc.js';
import { compileAndExtract, compileAndRun } from './cc.js';

/** A member as the compiler places it: bytes for ordinary members, absolute bits for bit-fields. */
export type CompilerMember =
  | { readonly path: string; readonly offset: number; readonly size: number }
  | { readonly path: string; readonly bit: number; readonly bitWidth: number };

export interface CompilerStruct {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  /** Every member, nested ones included, depth first in declaration order. */
  readonly members: readonly CompilerMember[];
}

const SECTION = 'ndis_probe';

interface PlannedMember {
  readonly path: string;
  readonly bits?: number;
}
interface PlannedStruct {
  readonly desc: StructDescriptor;
  readonly members: readonly PlannedMember[];
}

const present = (m: Member, ndis: NdisRevision): boolean =>
  m.kind !== 'field' || !m.since || NDIS_REVISIONS.indexOf(ndis) >= NDIS_REVISIONS.indexOf(m.since);

/** Access paths of every member, from the descriptors: anonymous members add no path step. */
function memberPaths(
  members: readonly Member[],
  prefix: string,
  ndis: NdisRevision,
  resolve: (name: string) => StructDescriptor | undefined,
  out: PlannedMember[],
): PlannedMember[] {
  for (const m of members) {
    if (!present(m, ndis)) continue;
    if (m.kind === 'anonymous') {
      memberPaths(m.members, prefix, ndis, resolve, out);
      continue;
    }
    const path = prefix + m.name;
    out.push(m.bits === undefined ? { path } : { path, bits: m.bits });
    const inner =
      m.type.kind === 'struct' ? resolve(m.type.name)?.members : m.type.kind === 'inline' ? m.type.members : undefined;
    if (inner && m.bits === undefined) memberPaths(inner, `${path}.`, ndis, resolve, out);
  }
  return out;
}

/** The probe program for `structs` (which must include every structure they contain). */
export function probeSource(
  structs: readonly StructDescriptor[],
  abi: Abi,
  ndis: NdisRevision,
): { source: string; plan: readonly PlannedStruct[] } {
  const byName = new Map(structs.map((s) => [s.name, s]));
  const plan = structs.map((desc) => ({ desc, members: memberPaths(desc.members, '', ndis, (n) => byName.get(n), []) }));
  const tagOf = (d: StructDescriptor): string => `${d.aggregate} ${d.name}`;

  const values: string[] = [];
  const images: { field: string; type: string; path: string }[] = [];
  for (const { desc, members } of plan) {
    const t = tagOf(desc);
    values.push(`        /* ${desc.name} */ sizeof(${t}), _Alignof(${t}),`);
    for (const m of members) {
      if (m.bits === undefined) {
        values.push(`        offsetof(${t}, ${m.path}), sizeof(((${t} *)0)->${m.path}),`);
      } else {
        const field = `bits_${images.length}`;
        images.push({ field, type: t, path: m.path });
        values.push(`        offsetof(struct ndis_probe, ${field}), 0, /* ${desc.name}.${m.path} */`);
      }
    }
  }

  const source = `${cDeclarations(abi, ndis, structs)}
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* What the compiler says about the structures above, read back by test/support/layout-probe.ts. */
struct ndis_probe {
    uint32_t values[${values.length * 2}];
${images.map((i) => `    ${i.type} ${i.field}; /* ${i.path} set to all ones */\n`).join('')}};

static const struct ndis_probe probe_data __attribute__((used, section("${SECTION}"))) = {
    .values = {
${values.join('\n')}
    },
${images.map((i) => `    .${i.field} = { .${i.path} = -1 },\n`).join('')}};

/* The same object built at run time: memset to 0, then each bit-field set to all ones. */
int main(void) {
    static struct ndis_probe p;
    memset(&p, 0, sizeof p);
    memcpy(p.values, probe_data.values, sizeof p.values);
${images.map((i) => `    p.${i.field}.${i.path} = -1;\n`).join('')}    const unsigned char *bytes = (const unsigned char *)&p;
    for (size_t i = 0; i < sizeof p; i++) printf("%02x", bytes[i]);
    printf("\\n");
    return 0;
}
`;
  return { source, plan };
}

/** First set bit and number of set bits of an image; throws unless the set bits are contiguous. */
function scanBits(image: Uint8Array, what: string): { bit: number; bitWidth: number } {
  let first = -1;
  let last = -1;
  let count = 0;
  image.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) {
      if (byte & (1 << b)) {
        if (first < 0) first = i * 8 + b;
        last = i * 8 + b;
        count++;
      }
    }
  });
  if (count === 0 || last - first + 1 !== count) {
    throw new Error(`${what}: the bit-field image has ${count} set bits from ${first} to ${last}, not one run`);
  }
  return { bit: first, bitWidth: count };
}

function parseProbe(bytes: Uint8Array, plan: readonly PlannedStruct[]): Map<string, CompilerStruct> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  const next = (): number => {
    const v = view.getUint32(i, true);
    i += 4;
    return v;
  };
  const out = new Map<string, CompilerStruct>();
  for (const { desc, members } of plan) {
    const size = next();
    const align = next();
    const placed = members.map((m): CompilerMember => {
      const [a, b] = [next(), next()];
      if (m.bits === undefined) return { path: m.path, offset: a, size: b };
      const found = scanBits(bytes.subarray(a, a + size), `${desc.name}.${m.path}`);
      if (found.bitWidth !== m.bits) {
        throw new Error(`${desc.name}.${m.path}: declared ${m.bits} bits, the compiler set ${found.bitWidth}`);
      }
      return { path: m.path, ...found };
    });
    out.set(desc.name, { name: desc.name, size, align, members: placed });
  }
  return out;
}

/**
 * What the compiler says about `structs` for an ABI and revision, by name. `extract` (default)
 * reads the compiled object file; `run` runs the program and reads what it prints.
 */
export function compilerLayouts(
  structs: readonly StructDescriptor[],
  abi: Abi,
  ndis: NdisRevision,
  how: 'extract' | 'run' = 'extract',
): Map<string, CompilerStruct> {
  const { source, plan } = probeSource(structs, abi, ndis);
  const bytes =
    how === 'extract'
      ? compileAndExtract(source, { abi, section: SECTION })
      : Buffer.from(compileAndRun(source, { abi }).trim(), 'hex');
  return parseProbe(bytes, plan);
}

/** Every placed field, nested ones included, with its access path. */
export function flattenFields(fields: readonly PlacedField[], prefix = ''): { path: string; field: PlacedField }[] {
  return fields.flatMap((f) => [
    { path: prefix + f.name, field: f },
    ...(f.fields ? flattenFields(f.fields, `${prefix}${f.name}.`) : []),
  ]);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * Compares an engine layout with the compiler's, member by member (nested ones too): offset and
 * size, or absolute bit position and width. `compared` counts the engine's members that were
 * found in the compiler's output and checked; a member only one side has is a mismatch.
 */
export function compareLayout(layout: StructLayout, compiler: CompilerStruct): { compared: number; mismatches: string[] } {
  const mismatches: string[] = [];
  const differ = (what: string, engine: number, gcc: number): void => {
    if (engine !== gcc) mismatches.push(`${layout.name}${what}: engine ${hex(engine)}, gcc ${hex(gcc)}`);
  };
  differ(' size', layout.size, compiler.size);
  differ(' align', layout.align, compiler.align);

  const byPath = new Map(compiler.members.map((m) => [m.path, m]));
  let compared = 0;
  for (const { path, field: f } of flattenFields(layout.fields)) {
    const c = byPath.get(path);
    byPath.delete(path);
    const name = `.${path}`;
    if (!c) {
      mismatches.push(`${layout.name}${name}: the engine places it, the compiler has no such member`);
      continue;
    }
    compared++;
    if ('bit' in c) {
      if (f.bitWidth === undefined || f.bitOffset === undefined) {
        mismatches.push(`${layout.name}${name}: a bit-field for the compiler, not for the engine`);
        continue;
      }
      differ(`${name} bit position`, f.offset * 8 + f.bitOffset, c.bit);
      differ(`${name} bit width`, f.bitWidth, c.bitWidth);
      if (f.bitOffset + f.bitWidth > f.size * 8) {
        mismatches.push(`${layout.name}${name}: bits ${f.bitOffset}+${f.bitWidth} overflow the ${f.size}-byte unit`);
      }
    } else {
      if (f.bitWidth !== undefined) mismatches.push(`${layout.name}${name}: a bit-field for the engine, not for the compiler`);
      differ(`${name} offset`, f.offset, c.offset);
      differ(`${name} size`, f.size, c.size);
    }
  }
  for (const path of byPath.keys()) mismatches.push(`${layout.name}.${path}: the compiler has it, the engine does not place it`);
  return { compared, mismatches };
}

/** The part of a `layout --json` document a compiler can confirm: no type names, bit-fields as absolute bits. */
export type CheckableJson = {
  name: string;
  abi: string;
  ndis: string;
  size: number;
  align: number;
  fields: CheckableField[];
};
export type CheckableField =
  | { name: string; offset: number; size: number; fields?: CheckableField[] }
  | { name: string; bit: number; bitWidth: number };

/** `layoutToJson` output reduced to what the compiler can confirm. */
export function checkableJson(json: LayoutJson): CheckableJson {
  const conv = (f: LayoutJsonField): CheckableField =>
    f.bitWidth !== undefined
      ? { name: f.name, bit: f.offset * 8 + (f.bitOffset ?? 0), bitWidth: f.bitWidth }
      : { name: f.name, offset: f.offset, size: f.size, ...(f.fields ? { fields: f.fields.map(conv) } : {}) };
  return { name: json.name, abi: json.abi, ndis: json.ndis, size: json.size, align: json.align, fields: json.fields.map(conv) };
}

/** The same shape built from the compiler's answer (members nested by their access paths). */
export function compilerJson(c: CompilerStruct, abi: Abi, ndis: NdisRevision): CheckableJson {
  const root: CheckableField[] = [];
  const children = new Map<string, CheckableField[]>([['', root]]);
  for (const m of c.members) {
    const dot = m.path.lastIndexOf('.');
    const parent = children.get(m.path.slice(0, Math.max(dot, 0)));
    if (!parent) throw new Error(`${c.name}.${m.path}: no parent member`);
    const name = m.path.slice(dot + 1);
    if ('bit' in m) {
      parent.push({ name, bit: m.bit, bitWidth: m.bitWidth });
    } else {
      parent.push({ name, offset: m.offset, size: m.size });
      children.set(m.path, []);
    }
  }
  // Nest: a member with children gets `fields`; one without gets none (as layoutToJson does).
  const nest = (fields: CheckableField[], prefix: string): CheckableField[] =>
    fields.map((f) => {
      if ('bit' in f) return f;
      const kids = children.get(prefix + f.name) ?? [];
      return kids.length
        ? { name: f.name, offset: f.offset, size: f.size, fields: nest(kids, `${prefix}${f.name}.`) }
        : { name: f.name, offset: f.offset, size: f.size };
    });
  return { name: c.name, abi: abi.name, ndis, size: c.size, align: c.align, fields: nest(root, '') };
}
