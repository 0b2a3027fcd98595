/**
 * The details pane's member rows (Session.details, memberRows), in Node over every region
 * fixture: every member of every structure present has the offset, size, C type and bit position
 * `layout --json` gives, the value `decode --json` gives, the bytes the file holds at its file
 * offset, and padding rows fill exactly the gaps; meanings name what the document names (status,
 * enum, flags, ports in host order, IP addresses); pointers carry their target.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openFileReader } from '../../src/capture/reader.js';
import { flagNames } from '../../src/layout/constants.js';
import type { MemberRow } from '../../src/web/protocol.js';
import { Session } from '../../src/web/worker/session.js';

const FIXTURES = resolve(__dirname, '../../fixtures');
const fixture = (n: string): string => join(FIXTURES, n);

async function cli(...argv: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  if (code !== 0) throw new Error(`${argv.join(' ')}: exit ${code}: ${err}`);
  return out;
}

interface LayoutField {
  name: string;
  offset: number;
  size: number;
  type: string;
  bitOffset?: number;
  bitWidth?: number;
  fields?: LayoutField[];
}
interface LayoutJson {
  name: string;
  size: number;
  fields: LayoutField[];
}
interface Leaf {
  path: string;
  offset: number;
  size: number;
  type: string;
  bitOffset?: number;
  bitWidth?: number;
  struct: boolean;
}

/** Every member of a layout in declaration order, nested structures before their members, as dotted paths. */
function leavesOf(layout: LayoutJson): Leaf[] {
  const out: Leaf[] = [];
  const walk = (fields: LayoutField[], prefix: string): void => {
    for (const f of fields) {
      const path = `${prefix}.${f.name}`;
      out.push({ path, offset: f.offset, size: f.size, type: f.type, ...(f.bitWidth !== undefined ? { bitOffset: f.bitOffset!, bitWidth: f.bitWidth } : {}), struct: f.fields !== undefined });
      if (f.fields) walk(f.fields, path);
    }
  };
  walk(layout.fields, layout.name);
  return out;
}

interface DocBlock {
  address: string;
  offset: number | null;
  type: string;
  Status: { name: string };
  state?: Record<string, Record<string, unknown>>;
  dependents: DocBlock[];
  [k: string]: unknown;
}

const valueAt = (obj: unknown, dotted: string[]): unknown => dotted.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);

/** The document's value as text, written out here independently of the page's formatting. */
function expectedText(v: unknown): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.map(expectedText).join(', ');
  if (v && typeof v === 'object') {
    const o = v as { hex?: string; value: number };
    return o.hex ?? String(o.value);
  }
  return String(v);
}

const regionFixtures = readdirSync(FIXTURES)
  .filter((n) => n.endsWith('.bin') && readdirSync(FIXTURES).includes(n.replace(/\.bin$/, '.json')))
  .sort();

describe('Session.details against layout --json and decode --json', () => {
  it.each(regionFixtures)('%s: every member of every structure of every block', async (name) => {
    const doc = JSON.parse(readFileSync(fixture(name.replace(/\.bin$/, '.json')), 'utf8')) as { base: string; abi: 'x64' | 'x86'; ndis?: '6.0' | '6.1' };
    const ndis = doc.ndis ?? '6.1';
    const layouts = new Map((JSON.parse(await cli('layout', '--json', '--abi', doc.abi, '--ndis', ndis)) as LayoutJson[]).map((l) => [l.name, l]));
    const decoded = JSON.parse(await cli('decode', fixture(name), '--base', doc.base, '--abi', doc.abi, '--ndis', ndis, '--json')) as { blocks: DocBlock[] };
    const file = readFileSync(fixture(name));
    const session = new Session(1, openFileReader(fixture(name)), { settings: { kind: 'region', base: doc.base, abi: doc.abi }, ndis });
    try {
      session.decode();
      const blocks: DocBlock[] = [];
      const walk = (list: DocBlock[]): void => list.forEach((b) => (blocks.push(b), walk(b.dependents)));
      walk(decoded.blocks);
      expect(session.rows.length).toBe(blocks.length);
      let checkedMembers = 0;
      blocks.forEach((block, index) => {
        const rows = session.details(index).members;
        // The structures: the block's, then each state part the document has, in order.
        const structs = rows.filter((r) => r.depth === 0 && !r.padding);
        expect(structs.map((r) => r.name)).toEqual(['NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', ...Object.keys(block.state ?? {})]);
        // Paths are unique (a padding row is selected and highlighted alone).
        expect(new Set(rows.map((r) => r.path)).size).toBe(rows.length);
        for (const s of structs) {
          const layout = layouts.get(s.name)!;
          expect(s.size).toBe(layout.size);
          const start = rows.indexOf(s);
          let end = start + 1;
          while (end < rows.length && rows[end]!.depth > 0) end++;
          const inside = rows.slice(start + 1, end);
          const members = inside.filter((r) => !r.padding);
          const leaves = leavesOf(layout);
          expect(members.map((r) => ({ path: r.path, offset: r.offset, size: r.size, type: r.ctype, ...(r.bitWidth !== undefined ? { bitOffset: r.bitOffset, bitWidth: r.bitWidth } : {}), struct: r.struct }))).toEqual(leaves);
          const json = s.name === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST' ? block : block.state![s.name];
          const structAddress = BigInt(s.address);
          for (const m of members) {
            // Region: file offset = the structure's + the member's offset; the address likewise.
            expect(m.fileOffset).toBe(s.fileOffset! + m.offset);
            expect(BigInt(m.address)).toBe(structAddress + BigInt(m.offset));
            if (m.struct) continue;
            checkedMembers++;
            const stored = file.subarray(m.fileOffset!, m.fileOffset! + m.size);
            expect(m.raw).toBe(Buffer.from(stored).toString('hex'));
            const v = valueAt(json, m.path.split('.').slice(1));
            expect(m.value).toBe(expectedText(v));
            const name = m.name;
            if (s.name === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST' && name === 'Status') expect(m.meaning).toBe(block.Status.name);
            else if (s.name === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST' && name === 'Type') expect(m.meaning).toBe(block.type);
            else if (v && typeof v === 'object' && 'name' in v) expect(m.meaning).toBe((v as { name: string }).name);
            else if (name === 'RemotePort' || name === 'LocalPort') {
              // Network byte order: the stored bytes read big-endian are the port.
              expect(m.meaning.startsWith(`${stored.readUInt16BE(0)} in host order`)).toBe(true);
            } else if (name === 'Flags') expect(m.meaning).toBe(flagNames(s.name, v as number).join(' | '));
            else if (valueAt(json, [`*${name}`]) !== undefined) expect(m.meaning).toBe(`→ ${expectedText(valueAt(json, [`*${name}`]))}`);
            // Pointers name their target (the stored address) when not NULL.
            if (/\*$/.test(m.ctype) && typeof v === 'string') expect(m.target).toBe(/^0x0+$/.test(v) ? undefined : v);
          }
          // Members and padding cover the structure: every byte owned, padding over no member.
          const covered = new Uint8Array(layout.size);
          for (const m of inside) if (!m.struct && !m.padding) covered.fill(1, m.offset, m.offset + m.size);
          for (const p of inside.filter((r) => r.padding)) {
            expect(covered.subarray(p.offset, p.offset + p.size).every((b) => b === 0)).toBe(true);
            expect(p.raw).toBe(Buffer.from(file.subarray(p.fileOffset!, p.fileOffset! + p.size)).toString('hex'));
            covered.fill(2, p.offset, p.offset + p.size);
          }
          expect(covered.every((b) => b !== 0)).toBe(true);
        }
      });
      expect(checkedMembers).toBeGreaterThan(blocks.length * 10);
    } finally {
      session.close();
    }
  });

  it('names what a TCP connection means: ports in host order beside the stored bytes, enum and flag names, IP addresses', () => {
    const s = new Session(1, openFileReader(fixture('sample-x64.bin')), { settings: { kind: 'region', base: '0xffffc70a12340000', abi: 'x64' } });
    try {
      s.decode();
      const tcp = s.details(3).members;
      const by = (p: string): MemberRow => tcp.find((m) => m.path === p)!;
      // Bytes 0d 3d: port 3389 (RDP); the document reads them little-endian as 15629.
      expect([by('TCP_OFFLOAD_STATE_CONST.RemotePort').raw, by('TCP_OFFLOAD_STATE_CONST.RemotePort').value]).toEqual(['0d3d', '15629']);
      expect(by('TCP_OFFLOAD_STATE_CONST.RemotePort').meaning).toBe('3389 in host order (stored 0x3d0d read little-endian)');
      expect(by('TCP_OFFLOAD_STATE_DELEGATED.State').meaning).toBe('TcpConnectionEstablished');
      expect(by('TCP_OFFLOAD_STATE_DELEGATED.State').value).toBe('4');
      expect(by('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status').value).toBe('0xc0231004');
      expect(by('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status').meaning).toBe('NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
      expect(by('TCP_OFFLOAD_STATE_CONST.Flags').meaning).toBe('TCP_FLAG_TIMESTAMP_ENABLED | TCP_FLAG_SACK_ENABLED | TCP_FLAG_WINDOW_SCALING_ENABLED');
      const rcv = by('TCP_OFFLOAD_STATE_CONST.RcvWindScale');
      expect([rcv.offset, rcv.bitOffset, rcv.bitWidth, rcv.value]).toEqual([14, 4, 4, '8']);
      expect(rcv.meaning).toBe('bits 4..7 of the UCHAR at +0xe');
      expect(by('TCP_OFFLOAD_STATE_CONST.padding@15').padding).toBe(true);
      expect(by('TCP_OFFLOAD_STATE.padding@68').size).toBe(4);
      const path = s.details(1).members;
      const src = path.find((m) => m.path === 'PATH_OFFLOAD_STATE_CONST.SourceAddress')!;
      expect([src.value, src.meaning, src.target]).toEqual(['0xffffc70a12340170', '→ 192.168.1.20', '0xffffc70a12340170']);
      const block = s.details(0).members;
      expect(block.find((m) => m.name === 'NextBlock')!.target).toBe('0xffffc70a12340738');
      expect(block.find((m) => m.name === 'DependentBlockList')!.target).toBe('0xffffc70a123400a0');
      expect(block.find((m) => m.name === 'MiniportOffloadContext')!.target).toBe('0xffffc70a12340098');
      // The neighbor's MAC in the every-state fixture.
    } finally {
      s.close();
    }
  });

  it('shows a neighbor\'s link-layer address as a MAC', () => {
    const s = new Session(1, openFileReader(fixture('every-state-type-ndis60-x64.bin')), { settings: { kind: 'region', base: '0xffffc70a24000000', abi: 'x64' }, ndis: '6.0' });
    try {
      s.decode();
      const dl = s.details(0).members.find((m) => m.path === 'NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress')!;
      expect(dl.meaning).toBe('00-15-5d-4a-1b-2c');
      expect(dl.raw.startsWith('00155d4a1b2c')).toBe(true);
    } finally {
      s.close();
    }
  });
});
