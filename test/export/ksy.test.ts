// The .ksy is compiled with the real kaitai-struct-compiler, and the JavaScript parser it generates
// reads the fixture (and the sample tree encoded for every ABI and revision) with the real
// kaitai-struct runtime; every block member, state member, role and link must agree with decodeTree.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { fcParams, hexPtr } from '../support/arbitraries.js';
import { SegmentImage } from '../../src/codec/image.js';
import { ksyFieldName, ksyJsName, ksySpec, ksyTypeName } from '../../src/export/ksy.js';
import { snakeCase } from '../../src/export/index.js';
import { type Abi, X64, X86 } from '../../src/layout/abi.js';
import { NDIS_STATUS_VALUES, OFFLOAD_STATE_TYPE, TCP_OFFLOAD_CONNECTION_STATE, stateType } from '../../src/layout/constants.js';
import { SCALARS, type NdisRevision } from '../../src/layout/descriptor.js';
import type { PlacedField } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { BlockJson } from '../../src/tree/document.js';
import { encodeTree } from '../../src/tree/encode.js';
import { formatIp } from '../../src/tree/ip.js';
import { stateParts } from '../../src/tree/state.js';

const require = createRequire(import.meta.url);
// The generated parser is untyped JavaScript: its objects are `any` here.
const compiler = require('kaitai-struct-compiler') as {
  version: string;
  compile(lang: string, ksy: unknown, importer: unknown, debug: boolean): Promise<Record<string, string>>;
};
const KaitaiStream = require('kaitai-struct/KaitaiStream') as new (buf: ArrayBuffer) => unknown;

const FIXTURE_BASE = 0xffffc70a12340000n;
/**
 * The base of the image each parser is generated for: the fixture's, and one above 2^63 with its low
 * bits set (no double holds it) whose tree crosses a 4 GiB line.
 */
const BASES: Readonly<Record<string, bigint | undefined>> = {
  'x64/6.1': FIXTURE_BASE,
  'x64/6.0': 0xffffc70afffffbc8n,
  'x86/6.1': 0x7ffffc00n,
  'x86/6.0': undefined,
};
const COMBOS: ReadonlyArray<readonly [Abi, NdisRevision]> = [
  [X64, '6.1'],
  [X64, '6.0'],
  [X86, '6.1'],
  [X86, '6.0'],
];

/** Compiles a .ksy text to JavaScript and loads the parser class, with the real runtime. */
async function loadParser(text: string): Promise<any> {
  const files = await compiler.compile('javascript', parseYaml(text), null, false);
  const code = files['NdisOffload.js'];
  expect(code, `compiled files: ${Object.keys(files).join(', ')}`).toBeDefined();
  const exports: Record<string, any> = {};
  const req = (name: string): unknown => {
    if (name === 'kaitai-struct/KaitaiStream') return KaitaiStream;
    throw new Error(`the generated parser requires ${name}`);
  };
  new Function('exports', 'require', code!)(exports, req);
  return exports.NdisOffload;
}

function parseImage(Parser: any, bytes: Uint8Array): any {
  const copy = bytes.slice();
  return new Parser(new KaitaiStream(copy.buffer));
}

// ---- the sample tree, for every ABI and revision ------------------------------------------------

/**
 * The sample document, made encodable for `abi`/`ndis` (32-bit context values, no DWnd on 6.0) and
 * with distinct values in every bit-field, so that a swapped bit order cannot pass.
 */
function sampleDoc(abi: Abi, ndis: NdisRevision): any {
  const doc = JSON.parse(readFileSync('fixtures/sample-x64.json', 'utf8'));
  const visit = (b: any): void => {
    if (abi.pointerSize === 4 && b['*MiniportOffloadContext']) b['*MiniportOffloadContext'] = '0x8f6e2a40';
    const s = b.state ?? {};
    if (s.TCP_OFFLOAD_STATE_CONST) Object.assign(s.TCP_OFFLOAD_STATE_CONST, { SndWindScale: 3, RcvWindScale: 12 });
    if (s.TCP_OFFLOAD_STATE_CACHED) Object.assign(s.TCP_OFFLOAD_STATE_CACHED, { FlowLabel: 0xabcde, UserPriority: 5 });
    if (s.NEIGHBOR_OFFLOAD_STATE_CONST) s.NEIGHBOR_OFFLOAD_STATE_CONST.VlanId = 0x5a5;
    const d = s.TCP_OFFLOAD_STATE_DELEGATED;
    if (d && ndis === '6.0') delete d.DWnd;
    if (d && abi.pointerSize === 4) for (const k of ['SendDataHead', 'SendDataTail', 'BufferedData']) d[k] = '0x0';
    for (const x of b.dependents ?? []) visit(x);
  };
  doc.blocks.forEach(visit);
  return { ...doc, abi: abi.name, ndis, base: null };
}

// ---- agreement with the decoder -------------------------------------------------------------------

const upperCamel = (id: string): string => ksyJsName(id).replace(/^./, (c) => c.toUpperCase());
const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * A pointer of the Kaitai parse against the decoder's string, exactly: on x64 a pointer64 whose
 * `hex` is that string and whose halves are its bits; on x86 a u4, which a double holds.
 */
function expectPointer(kv: any, decoded: string, abi: Abi, at: string): void {
  if (abi.pointerSize === 4) return void expect(kv, at).toBe(Number(BigInt(decoded)));
  expect(kv?.hex, `${at}: hex`).toBe(decoded);
  const v = BigInt(decoded);
  expect([kv.lo, kv.hi], `${at}: halves`).toEqual([Number(v & 0xffffffffn), Number(v >> 32n)]);
}

class Agreement {
  members = 0;
  blocks = 0;
  constructor(
    readonly Parser: any,
    readonly abi: Abi,
  ) {}

  /** One C member: the decoder's JSON value against the parser's. */
  field(f: PlacedField, dv: unknown, kv: any, where: string): void {
    const at = `${where}.${f.name}`;
    expect(kv, `${at}: missing in the Kaitai parse`).not.toBeUndefined();
    this.members++;
    const t = f.type;
    if (f.fields) {
      for (const sub of f.fields) this.field(sub, (dv as Record<string, unknown>)[sub.name], kv[ksyJsName(ksyFieldName(sub.name))], at);
      return;
    }
    if (t.kind === 'pointer') return void expectPointer(kv, dv as string, this.abi, at);
    if (t.kind === 'array') {
      if (t.of.kind === 'scalar' && SCALARS[t.of.name].size === 1) return void expect(hexOf(kv as Uint8Array), at).toBe(dv);
      expect(t.of.kind, at).toBe('pointer');
      expect(kv, at).toHaveLength((dv as string[]).length);
      (dv as string[]).forEach((d, i) => expectPointer(kv[i], d, this.abi, `${at}[${i}]`));
      return;
    }
    if (t.kind === 'enum') {
      const { value, name } = dv as { value: number; name: string };
      expect(kv, at).toBe(value);
      expect(this.Parser.TcpOffloadConnectionState[kv], at).toBe(snakeCase(name).toUpperCase());
      return;
    }
    if (t.kind === 'scalar' && t.name === 'NDIS_STATUS') {
      const { value, name } = dv as { value: number; name: string };
      expect(kv, at).toBe(value);
      if (!name.startsWith('unknown')) expect(this.Parser.NdisStatus[kv], at).toBe(name.toUpperCase());
      return;
    }
    expect(kv, at).toBe(dv);
  }

  /** A block, its state and every block below and after it. */
  block(k: any, d: BlockJson, base: bigint, ndis: NdisRevision): void {
    const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', this.abi, ndis);
    const where = `${d.address} (${d.type})`;
    expect(k, `${where}: not reached by the Kaitai parse`).toBeDefined();
    expect(k.ofs, `${where}: position`).toBe(Number(BigInt(d.address) - base));
    this.blocks++;
    for (const f of blockLayout.fields) this.field(f, d[f.name], k.block[ksyJsName(ksyFieldName(f.name))], where);
    expect(this.Parser.BlockRole[k.role], `${where}: role`).toBe(d.role.replace('-', '_').toUpperCase());
    if (d['*MiniportOffloadContext'] !== undefined) {
      expectPointer(k.miniportOffloadContextCell, d['*MiniportOffloadContext'] as string, this.abi, `${where}: *MiniportOffloadContext`);
    }
    const type = stateType(d.Header.Type);
    if (type && type.parts.length) expect(this.Parser.OffloadStateType[k.stateType], `${where}: type`).toBe(snakeCase(type.name).toUpperCase());

    expect(k.hasState, `${where}: state follows`).toBe(d.state !== undefined);
    if (d.state) {
      const parts = stateParts(type!, this.abi, ndis);
      const combined = type!.combined ? layoutOf(type!.combined, this.abi, ndis) : undefined;
      expect(Object.keys(d.state)).toEqual(parts.map((p) => p.name));
      for (const [i, part] of parts.entries()) {
        const kPart = combined ? k.state[ksyJsName(ksyFieldName(combined.fields[i]!.name))] : k.state;
        expect(kPart?.constructor?.name, `${where}: ${part.name}`).toBe(upperCamel(ksyTypeName(part.name)));
        this.part(part.layout.fields, d.state[part.name]!, kPart, `${where}.${part.name}`);
        if (part.name === 'PATH_OFFLOAD_STATE_CONST') {
          for (const m of ['SourceAddress', 'DestinationAddress']) {
            const ip = d.state[part.name]![`*${m}`];
            expect(ip, `${where}: *${m} decoded`).toBeDefined();
            expect(formatIp(k[ksyJsName(ksyFieldName(m))]), `${where}: *${m}`).toBe(ip);
            this.members++;
          }
        }
      }
    } else {
      expect(k.state, `${where}: no state`).toBeUndefined();
    }
    this.chain(k.dependentBlockList, d.dependents, base, ndis);
  }

  /** A state part: every member the decoder shows, and the union alternatives it does not. */
  part(fields: readonly PlacedField[], dj: Record<string, unknown>, kv: any, where: string): void {
    for (const [name, value] of Object.entries(dj)) {
      if (name.startsWith('*')) continue;
      const f = fields.find((x) => x.name === name);
      expect(f, `${where}: ${name} is not a member of the layout`).toBeDefined();
      this.field(f!, value, kv[ksyJsName(ksyFieldName(name))], where);
    }
    for (const f of fields.filter((x) => !(x.name in dj))) {
      // An alternative of an anonymous union the decoder shows through another member: its low bytes.
      const shown = fields.find((g) => g.name in dj && g.offset === f.offset && g.type.kind === 'pointer');
      expect(shown, `${where}: ${f.name} is neither decoded nor overlaid by a decoded pointer`).toBeDefined();
      const low = BigInt(dj[shown!.name] as string) & ((1n << BigInt(f.size * 8)) - 1n);
      expect(kv[ksyJsName(ksyFieldName(f.name))], `${where}.${f.name}`).toBe(Number(low));
      this.members++;
    }
  }

  /** A NextBlock chain against a list of the document. */
  chain(first: any, list: readonly BlockJson[], base: bigint, ndis: NdisRevision): void {
    let k = first;
    for (const d of list) {
      this.block(k, d, base, ndis);
      k = k.nextBlock;
    }
    expect(k, 'the Kaitai chain is longer than the decoded one').toBeUndefined();
  }
}

// ---- the tests ------------------------------------------------------------------------------------

describe('the Kaitai Struct spec', () => {
  const parsers = new Map<string, any>();

  beforeAll(async () => {
    for (const [abi, ndis] of COMBOS) {
      const base = BASES[`${abi.name}/${ndis}`];
      parsers.set(`${abi.name}/${ndis}`, await loadParser(ksySpec(abi, ndis, base === undefined ? {} : { base })));
    }
  });

  it('compiles with kaitai-struct-compiler for every ABI and revision', () => {
    expect(compiler.version).toMatch(/^0\.1[1-9]/);
    expect([...parsers.keys()]).toEqual(COMBOS.map(([a, n]) => `${a.name}/${n}`));
  });

  it('is YAML that declares little-endian bytes and bits, and models the state by Header.Type', () => {
    const spec = parseYaml(ksySpec(X64, '6.1'));
    expect(spec.meta).toMatchObject({ id: 'ndis_offload', endian: 'le', 'bit-endian': 'le' });
    const block = spec.types.offload_block;
    expect(block.params.map((p: { id: string }) => p.id)).toEqual(['base_lo', 'base_hi', 'ofs', 'depth']);
    expect(parseYaml(ksySpec(X86, '6.1')).types.offload_block.params.map((p: { id: string }) => p.id)).toEqual(['base', 'ofs', 'depth']);
    const state = block.seq.find((a: { id: string }) => a.id === 'state');
    expect(state.type['switch-on']).toBe('block.header.type');
    for (const t of OFFLOAD_STATE_TYPE) {
      const expected = t.parts.length && t.layer ? ksyTypeName(t.combined ?? t.parts[0]!) : undefined;
      expect(state.type.cases[t.value], t.name).toBe(expected);
    }
    expect(Object.keys(spec.enums.tcp_offload_connection_state)).toHaveLength(TCP_OFFLOAD_CONNECTION_STATE.length);
    expect(Object.keys(spec.enums.ndis_status)).toHaveLength(Object.keys(NDIS_STATUS_VALUES).length);
    // bit-fields: read with little-endian bit order, each storage unit read whole
    const cons = spec.types.neighbor_offload_state_const.seq.map((a: { id?: string; type?: string }) => `${a.id ?? '-'}:${a.type ?? ''}`);
    expect(cons).toContain('vlan_id:b12le');
    expect(cons).toContain('-:b20le');
  });

  it('reads the x64 fixture as decodeTree does: every block member, state member, role and link', () => {
    const Parser = parsers.get('x64/6.1');
    const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
    const top = parseImage(Parser, bytes);
    expect([top.baseLo, top.baseHi]).toEqual([0x12340000, 0xffffc70a]);
    const image = new SegmentImage([{ base: FIXTURE_BASE, bytes }]);
    const inferred = decodeTree(image, FIXTURE_BASE, { abi: X64, ndis: '6.1' });
    const initiate = decodeTree(image, FIXTURE_BASE, { abi: X64, ndis: '6.1', operation: 'initiate' });
    // The fixture is an initiate tree: inferring the state from the bytes gives the same tree.
    expect(inferred.blocks).toEqual(initiate.blocks);
    const check = new Agreement(Parser, X64);
    check.chain(top.root, initiate.blocks, FIXTURE_BASE, '6.1');
    expect(check.blocks).toBe(10);
    expect(check.members).toBeGreaterThan(450);
  });

  for (const [abi, ndis] of COMBOS) {
    it(`reads the sample tree encoded for ${abi.name}, NDIS ${ndis} at ${BASES[`${abi.name}/${ndis}`]?.toString(16) ?? 'the default base'}, bit-fields included`, () => {
      const base = BASES[`${abi.name}/${ndis}`];
      const enc = encodeTree(sampleDoc(abi, ndis), { abi, ndis, ...(base === undefined ? {} : { base }) });
      const doc = decodeTree(new SegmentImage([{ base: enc.base, bytes: enc.bytes }]), enc.base, { abi, ndis });
      expect(doc.diagnostics.filter((x) => x.severity !== 'info')).toEqual([]);
      const top = parseImage(parsers.get(`${abi.name}/${ndis}`), enc.bytes);
      const check = new Agreement(parsers.get(`${abi.name}/${ndis}`), abi);
      check.chain(top.root, doc.blocks, enc.base, ndis);
      expect(check.blocks).toBe(10);
      expect(check.members).toBeGreaterThan(400);
      // the bit-field values, read by Kaitai's LSB-first bit reader, are the ones written
      const tcp = top.root.dependentBlockList.dependentBlockList.state;
      expect([tcp.constState.sndWindScale, tcp.constState.rcvWindScale]).toEqual([3, 12]);
      expect([tcp.cachedState.flowLabel, tcp.cachedState.userPriority]).toEqual([0xabcde, 5]);
      expect(top.root.nextBlock.state.constState.vlanId).toBe(0x5a5);
      expect('dWnd' in tcp.delegatedState).toBe(ndis === '6.1');
    });
  }

  it('does not follow pointers that leave the stream, and reads NULL-linked trees', () => {
    const Parser = parsers.get('x64/6.1');
    const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
    const next = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64, '6.1').fields.find((f) => f.name === 'NextBlock')!;
    new DataView(bytes.buffer).setBigUint64(next.offset, FIXTURE_BASE + 0x100000n, true);
    const top = parseImage(Parser, bytes);
    expect(top.root.block.nextBlock.hex).toBe('0xffffc70a12440000');
    expect(top.root.nextBlock).toBeUndefined();
    expect(top.root.dependentBlockList.ofs).toBeGreaterThan(0);
  });

  it('writes any base: as two 32-bit halves on x64, so no number of the spec needs more than a double holds', () => {
    const wide = ksySpec(X64, '6.1', { base: 0xffffc70a12345678n });
    const top = parseYaml(wide).instances;
    expect([top.base_lo.value, top.base_hi.value]).toEqual(['0x12345678', '0xffffc70a']);
    expect(top.base).toBeUndefined();
    expect(parseYaml(ksySpec(X86, '6.1', { base: 0x81234000n })).instances.base.value).toBe('0x81234000');
    // every integer literal of every expression and value, in every ABI and revision, is exact as a double
    for (const [abi, ndis] of COMBOS) {
      const literals: string[] = [];
      const visit = (v: unknown): void => {
        if (typeof v === 'string') literals.push(...(v.match(/\b(0x[0-9a-f]+|[0-9]+)\b/gi) ?? []));
        else if (typeof v === 'number') literals.push(String(v));
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'doc') visit(x);
      };
      const spec = parseYaml(ksySpec(abi, ndis, { base: abi.pointerSize === 8 ? 0xffffffffffffff08n : 0xfffff008n }));
      visit({ ...spec, meta: undefined, enums: undefined });
      expect(literals.length, `${abi.name}/${ndis}`).toBeGreaterThan(100);
      for (const l of literals) expect(BigInt(l) <= BigInt(Number.MAX_SAFE_INTEGER), `${abi.name}/${ndis}: ${l}`).toBe(true);
    }
  });

  it('shows every 64-bit pointer exactly: hex and the halves are the decoder\'s value, whatever its bits', () => {
    const Parser = parsers.get('x64/6.1');
    const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64, '6.1');
    const at = (m: string): number => block.fields.find((f) => f.name === m)!.offset;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (next, ctx) => {
        const copy = bytes.slice();
        const view = new DataView(copy.buffer);
        view.setBigUint64(at('NextBlock'), next, true);
        view.setBigUint64(at('MiniportOffloadContext'), ctx, true);
        const root = parseImage(Parser, copy).root;
        const doc = decodeTree(new SegmentImage([{ base: FIXTURE_BASE, bytes: copy }]), FIXTURE_BASE, { abi: X64, ndis: '6.1', operation: 'initiate' });
        expectPointer(root.block.nextBlock, doc.blocks[0]!.NextBlock as string, X64, 'NextBlock');
        expectPointer(root.block.miniportOffloadContext, doc.blocks[0]!.MiniportOffloadContext as string, X64, 'MiniportOffloadContext');
        expect(root.block.nextBlock.hex).toBe(hexPtr(next, X64));
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('follows a pointer above 2^53 to its exact position, for a base with its low bits set', () => {
    const base = BASES['x64/6.0']!;
    const Parser = parsers.get('x64/6.0');
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64, '6.0');
    const next = block.fields.find((f) => f.name === 'NextBlock')!.offset;
    const size = 0x4000;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: size - block.size }), (ofs) => {
        const bytes = new Uint8Array(size);
        new DataView(bytes.buffer).setBigUint64(next, base + BigInt(ofs), true);
        const root = parseImage(Parser, bytes).root;
        expect(root.nextBlock?.ofs).toBe(ofs);
        expect(root.nextBlock.cycle).toBe(false);
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('ends on a looped tree: a block on its own route is read once more, marked cycle, and not walked', () => {
    const abi = X64;
    const ndis = '6.1';
    const enc = encodeTree(sampleDoc(abi, ndis), { abi, ndis, base: FIXTURE_BASE });
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
    const offsetOf = (m: string): number => block.fields.find((f) => f.name === m)!.offset;
    const first = decodeTree(new SegmentImage([{ base: enc.base, bytes: enc.bytes }]), enc.base, { abi, ndis });
    const bytes = enc.bytes.slice();
    const view = new DataView(bytes.buffer);
    const pos = (b: BlockJson): number => Number(BigInt(b.address) - enc.base);
    // the last block of the root chain leads back to the root; a block two layers down to itself
    const last = first.blocks[first.blocks.length - 1]!;
    const deep = first.blocks[0]!.dependents[0]!;
    view.setBigUint64(pos(last) + offsetOf('NextBlock'), enc.base, true);
    view.setBigUint64(pos(deep) + offsetOf('DependentBlockList'), BigInt(deep.address), true);
    const looped = decodeTree(new SegmentImage([{ base: enc.base, bytes }]), enc.base, { abi, ndis });
    const cycles = looped.diagnostics.filter((d) => d.code === 'CYCLE').map((d) => d.address);
    expect(cycles.sort()).toEqual([hexPtr(enc.base, abi), deep.address].sort());

    const walked: number[] = [];
    const marked: number[] = [];
    const walk = (k: any): void => {
      if (k === undefined) return;
      expect(walked.length + marked.length, 'the Kaitai walk ends').toBeLessThan(100);
      if (k.cycle) {
        marked.push(k.ofs);
        expect([k.nextBlock, k.dependentBlockList]).toEqual([undefined, undefined]);
        return;
      }
      walked.push(k.ofs);
      walk(k.dependentBlockList);
      walk(k.nextBlock);
    };
    walk(parseImage(parsers.get('x64/6.1'), bytes).root);
    const decoded: number[] = [];
    const visit = (list: readonly BlockJson[]): void => {
      for (const b of list) {
        decoded.push(pos(b));
        visit(b.dependents);
      }
    };
    visit(looped.blocks);
    expect(walked.sort((a, b) => a - b)).toEqual(decoded.sort((a, b) => a - b));
    expect(marked.sort((a, b) => a - b)).toEqual(cycles.map((c) => Number(BigInt(c) - enc.base)).sort((a, b) => a - b));
  });
});
