/**
 * Emits the TypeScript source of the zero-copy views from the layouts: one class per structure,
 * offsets as literals (the JIT sees constants), getters and setters named by the C members.
 * The output is committed under src/codec/generated and checked by a test against a fresh run.
 */
import type { Abi } from '../../layout/abi.js';
import type { NdisRevision, TypeRef } from '../../layout/descriptor.js';
import { SCALARS } from '../../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../../layout/msvc.js';
import { allLayouts } from '../../layout/registry.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`'${name}' is not a valid identifier for generated code`);
  return name;
}

interface Accessor {
  get: string;
  set: string;
  ts: 'number' | 'bigint';
  size: number;
}

function scalarAccessor(t: TypeRef, abi: Abi): Accessor {
  if (t.kind === 'pointer') {
    return abi.pointerSize === 8
      ? { get: 'getBigUint64', set: 'setBigUint64', ts: 'bigint', size: 8 }
      : { get: 'getUint32', set: 'setUint32', ts: 'bigint', size: 4 };
  }
  if (t.kind === 'enum') return { get: 'getUint32', set: 'setUint32', ts: 'number', size: 4 };
  if (t.kind === 'scalar') {
    const { size, signed } = SCALARS[t.name];
    const w = size * 8;
    const kind = signed ? 'Int' : 'Uint';
    return { get: `get${kind}${w}`, set: `set${kind}${w}`, ts: 'number', size };
  }
  throw new Error(`no scalar accessor for ${t.kind}`);
}

/** How one value is read and written at an offset expression. */
function readExpr(acc: Accessor, at: string, abi: Abi): string {
  const le = acc.size > 1 ? ', true' : '';
  const raw = `this.view.${acc.get}(${at}${le})`;
  return acc.ts === 'bigint' && abi.pointerSize === 4 ? `BigInt(${raw})` : raw;
}

function writeStmt(acc: Accessor, at: string, abi: Abi): string {
  const le = acc.size > 1 ? ', true' : '';
  const v = acc.ts === 'bigint' && abi.pointerSize === 4 ? 'Number(BigInt.asUintN(32, v))' : 'v';
  return `this.view.${acc.set}(${at}, ${v}${le});`;
}

const off = (base: number, f: PlacedField): string => `this.base + ${f.offset - base}`;

function emitClass(className: string, f0: number, size: number, align: number, fields: readonly PlacedField[], abi: Abi, out: string[], doc: string): void {
  const body: string[] = [];
  const children: string[] = [];
  for (const f of fields) {
    const name = ident(f.name);
    const at = off(f0, f);
    if (f.fields) {
      const child = f.type.kind === 'struct' ? f.type.name : `${className}_${name}`;
      if (f.type.kind === 'inline') emitClass(child, f.offset, f.size, f.align, f.fields, abi, children, `The unnamed struct type of ${className}.${name}.`);
      body.push(
        `  private _${name}?: ${child};`,
        `  get ${name}(): ${child} {`,
        `    return (this._${name} ??= new ${child}()).at(this.view, ${at});`,
        '  }',
      );
    } else if (f.bitWidth !== undefined) {
      const acc = scalarAccessor(f.type, abi);
      const mask = f.bitWidth === 32 ? 0xffffffff : 2 ** f.bitWidth - 1;
      const hexMask = `0x${mask.toString(16)}`;
      const shifted = `0x${((mask * 2 ** f.bitOffset!) >>> 0).toString(16)}`;
      const le = acc.size > 1 ? ', true' : '';
      body.push(
        `  /** Bit-field: bits ${f.bitOffset}..${f.bitOffset! + f.bitWidth - 1} of the ${f.ctype} at +0x${(f.offset - f0).toString(16)}. */`,
        `  get ${name}(): number {`,
        `    return ((this.view.${acc.get}(${at}${le}) >>> ${f.bitOffset}) & ${hexMask})${f.bitWidth === 32 ? ' >>> 0' : ''};`,
        '  }',
        `  set ${name}(v: number) {`,
        `    const u = this.view.${acc.get}(${at}${le});`,
        `    this.view.${acc.set}(${at}, (u & ~${shifted}) | ((v << ${f.bitOffset}) & ${shifted})${le});`,
        '  }',
      );
    } else if (f.type.kind === 'array') {
      const elem = f.type.of;
      const count = f.type.count;
      if (elem.kind === 'scalar' && elem.name === 'UCHAR') {
        body.push(
          `  /** ${f.ctype}: a Uint8Array over the image's bytes (no copy). */`,
          `  get ${name}(): Uint8Array {`,
          `    return new Uint8Array(this.view.buffer, this.view.byteOffset + ${at}, ${count});`,
          '  }',
        );
      } else {
        const acc = scalarAccessor(elem, abi);
        const stride = f.size / count;
        const atI = `${at} + index * ${stride}`;
        body.push(
          `  /** ${f.ctype}: element \`index\`. */`,
          `  ${name}(index: number): ${acc.ts} {`,
          `    checkIndex('${name}', index, ${count});`,
          `    return ${readExpr(acc, atI, abi)};`,
          '  }',
          `  set${name}(index: number, v: ${acc.ts}): void {`,
          `    checkIndex('${name}', index, ${count});`,
          `    ${writeStmt(acc, atI, abi)}`,
          '  }',
        );
      }
    } else {
      const acc = scalarAccessor(f.type, abi);
      body.push(
        `  get ${name}(): ${acc.ts} {`,
        `    return ${readExpr(acc, at, abi)};`,
        '  }',
        `  set ${name}(v: ${acc.ts}) {`,
        `    ${writeStmt(acc, at, abi)}`,
        '  }',
      );
      if (f.networkOrder) {
        // The same bytes read big-endian: the value a program means (a port as 445, not 48385).
        const host = ident(`${name}Host`);
        if (fields.some((g) => g.name === host)) throw new Error(`${className}: ${host} is both a member and ${name}'s host-order accessor`);
        body.push(
          `  /** ${name} in host order: its bytes are stored in network byte order (big-endian). */`,
          `  get ${host}(): number {`,
          `    return this.view.${acc.get}(${at});`,
          '  }',
          `  set ${host}(v: number) {`,
          `    this.view.${acc.set}(${at}, v);`,
          '  }',
        );
      }
    }
  }
  out.push(...children);
  out.push(
    `/** ${doc} */`,
    `export class ${ident(className)} extends ViewBase {`,
    `  static readonly size = ${size};`,
    `  static readonly align = ${align};`,
    ...body,
    '}',
    '',
  );
}

export const viewModuleName = (abi: Abi, ndis: NdisRevision): string => `${abi.name}-ndis${ndis.replace('.', '')}`;

/** The source of src/codec/generated/<abi>-ndis<rev>.ts. */
export function emitViews(abi: Abi, ndis: NdisRevision): string {
  const out: string[] = [
    `// Generated from the struct descriptors (src/layout) by \`npm run generate\`: do not edit.`,
    `// Views for ${abi.name}, NDIS ${ndis}.`,
    `import { ViewBase, checkIndex } from '../view-base.js';`,
    '',
  ];
  const layouts: StructLayout[] = allLayouts(abi, ndis);
  // Nested structures first, so every class is declared before a getter refers to it.
  for (const l of layouts) emitClass(l.name, 0, l.size, l.align, l.fields, abi, out, l.doc);
  out.push(`export const STRUCT_VIEWS = { ${layouts.map((l) => l.name).join(', ')} } as const;`, '');
  return out.join('\n');
}
