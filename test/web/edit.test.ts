/**
 * The Worker's writes, in Node (no browser): a member edited in a session gives the bytes of
 * `encode --onto` with the same member changed in the `decode --json` document; out-of-range and
 * malformed values are refused with the encoder's message and change nothing; undo and redo;
 * read-only captures refuse with the reason; completion previews and writes what `complete`
 * writes; every download is the CLI's output byte for byte.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferReader, openFileReader } from '../../src/capture/reader.js';
import { main } from '../../src/cli/main.js';
import type { DownloadKind } from '../../src/web/protocol.js';
import { download } from '../../src/web/worker/downloads.js';
import { completeOperation, completePreview, editMember, editSpec, editState, redo, undo } from '../../src/web/worker/edit.js';
import { Session } from '../../src/web/worker/session.js';

const FIXTURES = resolve(__dirname, '../../fixtures');
const SAMPLE = join(FIXTURES, 'sample-x64.bin');
const BASE = '0xffffc70a12340000';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

function openRegion(path: string, base: string, abi: 'x64' | 'x86' = 'x64', operation?: string): Session {
  const bytes = new Uint8Array(readFileSync(path));
  const s = new Session(1, bufferReader(bytes, path.replace(/^.*\//, '')), { settings: { kind: 'region', base, abi } });
  s.decode(undefined, operation);
  return s;
}

const rowOf = (s: Session, path: string): number => s.rows.findIndex((r) => r.path === path);

type Doc = { blocks: Record<string, unknown>[] };

/** The block at a row path (`blocks[0].dependents[1]`) in a decoded document. */
function blockAt(doc: Doc, path: string): Record<string, unknown> {
  let list = doc.blocks;
  let b: Record<string, unknown> | undefined;
  for (const m of path.matchAll(/(blocks|dependents)\[(\d+)\]/g)) {
    b = list[Number(m[2])]!;
    list = (b.dependents as Record<string, unknown>[]) ?? [];
  }
  return b!;
}

/** `encode --onto` of the capture's document with one edit made by `change` on the block at `path`. */
async function encodeOntoEdit(capture: string, base: string, path: string, change: (block: Record<string, unknown>) => void, operation?: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'web-edit-'));
  const decoded = await cli('decode', capture, '--base', base, ...(operation ? ['--operation', operation] : []), '--json');
  expect(decoded.code).toBe(0);
  const doc = JSON.parse(decoded.out) as Doc;
  change(blockAt(doc, path));
  writeFileSync(join(dir, 'tree.json'), JSON.stringify(doc));
  const r = await cli('encode', join(dir, 'tree.json'), '--onto', capture, '-o', join(dir, 'out.bin'));
  expect(r.err).toMatch(/^wrote/);
  return readFileSync(join(dir, 'out.bin'));
}

const tcp = 'blocks[0].dependents[0].dependents[0]';

describe('editing a member of a region', () => {
  const cases: [string, string, string, string, (b: Record<string, unknown>) => void][] = [
    ['a port in host order', tcp, 'TCP_OFFLOAD_STATE_CONST.RemotePort', '8080', (b) => ((b.state as Record<string, Record<string, unknown>>).TCP_OFFLOAD_STATE_CONST!.RemotePort = { host: 8080 })],
    ['a ULONG', tcp, 'TCP_OFFLOAD_STATE_DELEGATED.RcvWnd', '0x12345', (b) => ((b.state as Record<string, Record<string, unknown>>).TCP_OFFLOAD_STATE_DELEGATED!.RcvWnd = 0x12345)],
    ['a UCHAR', tcp, 'TCP_OFFLOAD_STATE_CACHED.TtlOrHopLimit', '64', (b) => ((b.state as Record<string, Record<string, unknown>>).TCP_OFFLOAD_STATE_CACHED!.TtlOrHopLimit = 64)],
    ['a bit-field', tcp, 'TCP_OFFLOAD_STATE_CONST.SndWindScale', '14', (b) => ((b.state as Record<string, Record<string, unknown>>).TCP_OFFLOAD_STATE_CONST!.SndWindScale = 14)],
    ['an enum by name', tcp, 'TCP_OFFLOAD_STATE_DELEGATED.State', 'TcpConnectionFinWait1', (b) => (((b.state as Record<string, Record<string, Record<string, unknown>>>).TCP_OFFLOAD_STATE_DELEGATED!.State!).name = 'TcpConnectionFinWait1')],
    ['the Status by name', 'blocks[1]', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status', 'NDIS_STATUS_RESOURCES', (b) => ((b.Status as Record<string, unknown>).name = 'NDIS_STATUS_RESOURCES')],
    ['a nested USHORT', 'blocks[1]', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Size', '0x50', (b) => ((b.Header as Record<string, unknown>).Size = 0x50)],
    ['a pointer', tcp, 'TCP_OFFLOAD_STATE_DELEGATED.SendDataHead', 'ffffc70a12345678', (b) => ((b.state as Record<string, Record<string, unknown>>).TCP_OFFLOAD_STATE_DELEGATED!.SendDataHead = '0xffffc70a12345678')],
    ['a PVOID[2] as its JSON array', 'blocks[0]', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NdisReserved', '["0x1", "0xffffc70a00000000"]', (b) => (b.NdisReserved = ['0x1', '0xffffc70a00000000'])],
    ['UCHAR bytes', 'blocks[1]', 'NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress', '0a0b0c0d0e0f', (b) => ((b.state as Record<string, Record<string, unknown>>).NEIGHBOR_OFFLOAD_STATE_CONST!.DlSourceAddress = '0a0b0c0d0e0f')],
  ];
  it.each(cases)('%s: the bytes of encode --onto with the same edit', async (_, path, member, value, change) => {
    const s = openRegion(SAMPLE, BASE, 'x64', 'initiate');
    const state = editMember(s, rowOf(s, path), member, value);
    const want = await encodeOntoEdit(SAMPLE, BASE, path, change, 'initiate');
    expect(Buffer.from(s.regionBytes!).equals(want)).toBe(true);
    const original = readFileSync(SAMPLE);
    const differ = [...want.keys()].filter((i) => want[i] !== original[i]);
    expect(differ.length).toBeGreaterThan(0);
    expect(state.changed).toEqual(differ);
    expect(state.undo).toBe(`${path} ${member} = ${value}`);
  });

  it('offers the range of the C type, the names of enums and statuses, ports in host order', () => {
    const s = openRegion(SAMPLE, BASE, 'x64', 'initiate');
    const row = rowOf(s, tcp);
    expect(editSpec(s, row, 'TCP_OFFLOAD_STATE_CACHED.TtlOrHopLimit')).toMatchObject({ kind: 'integer', ctype: 'UCHAR', min: '0', max: '255', current: '128' });
    expect(editSpec(s, row, 'TCP_OFFLOAD_STATE_CONST.SndWindScale')).toMatchObject({ kind: 'integer', ctype: 'UCHAR', bits: 4, min: '0', max: '15', current: '8' });
    expect(editSpec(s, row, 'TCP_OFFLOAD_STATE_CACHED.Flags')).toMatchObject({ kind: 'integer', ctype: 'USHORT', min: '0', max: '65535' });
    expect(editSpec(s, row, 'TCP_OFFLOAD_STATE_DELEGATED.RcvWnd')).toMatchObject({ kind: 'integer', ctype: 'ULONG', min: '0', max: '4294967295' });
    expect(editSpec(s, row, 'TCP_OFFLOAD_STATE_CONST.RemotePort')).toMatchObject({ kind: 'port', ctype: 'USHORT', current: String(((48385 & 0xff) << 8) | (48385 >> 8)) });
    const state = editSpec(s, row, 'TCP_OFFLOAD_STATE_DELEGATED.State');
    expect(state).toMatchObject({ kind: 'enum', current: 'TcpConnectionEstablished' });
    expect(state.names).toContain('TcpConnectionFinWait1');
    const status = editSpec(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status');
    expect(status.kind).toBe('status');
    expect(status.names).toContain('NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
    expect(editSpec(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock')).toMatchObject({ kind: 'pointer', max: String(2n ** 64n - 1n) });
  });

  it('a bit-field takes its width', () => {
    const s = openRegion(join(FIXTURES, 'every-state-type-ndis60-x64.bin'), JSON.parse(readFileSync(join(FIXTURES, 'every-state-type-ndis60-x64.json'), 'utf8')).base);
    let found = false;
    for (let row = 0; row < s.rows.length && !found; row++) {
      for (const m of s.details(row).members) {
        if (m.bitWidth === undefined || !m.editable) continue;
        const w = m.bitWidth;
        const spec = editSpec(s, row, m.path);
        expect(spec).toMatchObject({ kind: 'integer', bits: w, min: '0', max: String(2 ** w - 1) });
        const before = s.regionBytes!.slice();
        expect(() => editMember(s, row, m.path, String(2 ** w))).toThrow(`does not fit a ${w}-bit field (0..${2 ** w - 1})`);
        expect(s.regionBytes).toEqual(before);
        found = true;
        break;
      }
    }
    expect(found).toBe(true);
  });

  it('a value out of the C type range, or no value of the type, is refused and nothing changes', () => {
    const s = openRegion(SAMPLE, BASE, 'x64', 'initiate');
    const row = rowOf(s, tcp);
    const before = s.regionBytes!.slice();
    expect(() => editMember(s, row, 'TCP_OFFLOAD_STATE_CACHED.TtlOrHopLimit', '256')).toThrow(`${tcp}.state.TCP_OFFLOAD_STATE_CACHED.TtlOrHopLimit: 256 does not fit the member (0..255)`);
    expect(() => editMember(s, row, 'TCP_OFFLOAD_STATE_CONST.RemotePort', '65536')).toThrow('RemotePort.host: 65536 does not fit the member (0..65535)');
    expect(() => editMember(s, row, 'TCP_OFFLOAD_STATE_DELEGATED.State', 'TcpConnectionEstablishd')).toThrow(`${tcp}.state.TCP_OFFLOAD_STATE_DELEGATED.State: unknown TCP_OFFLOAD_CONNECTION_STATE 'TcpConnectionEstablishd' (did you mean TcpConnectionEstablished`);
    expect(() => editMember(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status', 'NDIS_STATUS_SUCESS')).toThrow("unknown NDIS_STATUS name 'NDIS_STATUS_SUCESS'");
    expect(() => editMember(s, row, 'TCP_OFFLOAD_STATE_DELEGATED.RcvWnd', '')).toThrow('give a value');
    expect(() => editMember(s, row, 'TCP_OFFLOAD_STATE_DELEGATED.KeepAlive', '1')).toThrow('is a structure');
    expect(() => editMember(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.padding', '0')).toThrow('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.padding: unused bytes between members, not a member: nothing to edit');
    expect(() => editMember(s, row, 'TCP_OFFLOAD_STATE_CONST.RemotePrt', '1')).toThrow('TCP_OFFLOAD_STATE_CONST.RemotePrt: TCP_OFFLOAD_STATE_CONST has no member RemotePrt (did you mean RemotePort or RemoteMss?)');
    expect(editSpec(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NdisReserved')).toMatchObject({ kind: 'json', hint: 'a JSON array of 2 PVOID values, as the JSON document writes it' });
    expect(() => editMember(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NdisReserved', '["0x1"]')).toThrow(`${tcp}.NdisReserved: expected an array of 2`);
    expect(() => editMember(s, row, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NdisReserved', '[0x1]')).toThrow('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NdisReserved: not JSON: [0x1]');
    expect(s.regionBytes).toEqual(before);
    expect(editState(s)).toEqual({ changed: [] });
  });

  it('undo and redo put back and write again exactly the bytes of each edit', () => {
    const s = openRegion(SAMPLE, BASE, 'x64', 'initiate');
    const original = s.regionBytes!.slice();
    const row = rowOf(s, tcp);
    editMember(s, row, 'TCP_OFFLOAD_STATE_CONST.RemotePort', '443');
    const first = s.regionBytes!.slice();
    const second = editMember(s, row, 'TCP_OFFLOAD_STATE_CONST.RemotePort', '80');
    const after = s.regionBytes!.slice();
    expect(second.undo).toBe(`${tcp} TCP_OFFLOAD_STATE_CONST.RemotePort = 80`);
    expect(undo(s).redo).toBe(`${tcp} TCP_OFFLOAD_STATE_CONST.RemotePort = 80`);
    expect(s.regionBytes).toEqual(first);
    const back = undo(s);
    expect(s.regionBytes).toEqual(original);
    expect(back.changed).toEqual([]);
    expect(back.undo).toBeUndefined();
    expect(() => undo(s)).toThrow('nothing to undo');
    redo(s);
    const again = redo(s);
    expect(s.regionBytes).toEqual(after);
    expect(again.changed.length).toBeGreaterThan(0);
    expect(() => redo(s)).toThrow('nothing to redo');
    // A new edit after an undo drops what could have been redone.
    undo(s);
    expect(editMember(s, row, 'TCP_OFFLOAD_STATE_CONST.RemotePort', '22').redo).toBeUndefined();
  });
});

describe('read-only captures', () => {
  it('a crash dump refuses editing and completing with the reason, and exports its tree as a region', async () => {
    const dump = join(FIXTURES, 'sample-x64.dmp');
    const s = new Session(1, openFileReader(dump));
    const root = s.scan()[0]!.address;
    s.decode(root);
    const reason = s.summary().readOnlyReason!;
    expect(reason).toBe('dump captures are read-only here');
    expect(() => editSpec(s, 0, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status')).toThrow(`editing NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status: ${reason}; export the tree as a region capture`);
    expect(() => completePreview(s, { session: 1, operation: 'initiate' })).toThrow(reason);
    expect(() => download(s, 'capture')).toThrow(reason);
    const region = download(s, 'region');
    const json = download(s, 'region-json');
    const doc = JSON.parse(new TextDecoder().decode(json.bytes)) as { base: string; abi: string };
    const dir = mkdtempSync(join(tmpdir(), 'web-ro-'));
    writeFileSync(join(dir, region.name), region.bytes);
    const again = await cli('decode', join(dir, region.name), '--base', doc.base, '--json');
    expect(new TextDecoder().decode(json.bytes)).toBe(again.out);
    // The same tree as the dump's: every block's layer, role, type, status and state, at new addresses.
    const fromDump = JSON.parse((await cli('decode', dump, '--root', root, '--json')).out) as Doc;
    const shape = (d: Doc): unknown => JSON.parse(JSON.stringify(d.blocks, (k, v) => (/^(address|offset|NextBlock|DependentBlockList|MiniportOffloadContext|SourceAddress|DestinationAddress|\*MiniportOffloadContext)$/.test(k) ? undefined : v)));
    expect(shape(JSON.parse(again.out) as Doc)).toEqual(shape(fromDump));
    s.close();
  });
});

describe('completing an operation', () => {
  it('the preview says per block what complete writes, and applying it gives complete --fail bytes', async () => {
    const path = join(FIXTURES, 'initiate-x86.bin');
    const base = JSON.parse(readFileSync(join(FIXTURES, 'initiate-x86.json'), 'utf8')).base as string;
    const s = openRegion(path, base, 'x86', 'initiate');
    const failing = s.rows.find((r) => r.layer === 'tcp' && r.role === 'new-offload')!;
    const req = { session: 1, operation: 'initiate', fail: [{ address: failing.address, status: 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES' }] };
    const preview = completePreview(s, req);
    expect(preview.blocks.find((b) => b.address === failing.address)!.after).toBe('NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
    expect(s.regionBytes).toEqual(new Uint8Array(readFileSync(path)));
    const state = completeOperation(s, req);
    expect(state.undo).toBe('complete initiate');
    const dir = mkdtempSync(join(tmpdir(), 'web-complete-'));
    const r = await cli('complete', path, '--base', base, '--abi', 'x86', '--operation', 'initiate', '--fail', `${failing.address}=NDIS_STATUS_OFFLOAD_TCP_ENTRIES`, '-o', join(dir, 'done.bin'));
    expect(r.code).toBe(0);
    expect(Buffer.from(s.regionBytes!).equals(readFileSync(join(dir, 'done.bin')))).toBe(true);
    // The preview's statuses are what the bytes now say.
    s.decode(undefined, 'initiate');
    expect(s.rows.map((x) => x.status)).toEqual(preview.blocks.map((b) => b.after));
  });

  it('a status the operation does not allow is refused before any byte is written', () => {
    const s = openRegion(SAMPLE, BASE, 'x64', 'initiate');
    const before = s.regionBytes!.slice();
    expect(() => completeOperation(s, { session: 1, operation: 'terminate', status: 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES' })).toThrow('is not a status terminate allows');
    expect(() => completePreview(s, { session: 1, operation: 'initate' })).toThrow("unknown operation 'initate'");
    expect(s.regionBytes).toEqual(before);
  });
});

describe('downloads are the CLI output byte for byte', () => {
  const s = openRegion(SAMPLE, BASE, 'x64', 'initiate');
  const text = (k: DownloadKind): string => new TextDecoder().decode(download(s, k).bytes);
  const args = [SAMPLE, '--base', BASE, '--operation', 'initiate'];
  it.each([
    ['json', ['decode', ...args, '--json']],
    ['hexdump', ['hexdump', ...args]],
    ['hexdump-json', ['hexdump', ...args, '--json']],
    ['ksy', ['export', '--format', 'ksy', '--base', BASE]],
    ['hexpat', ['export', '--format', 'hexpat', '--base', BASE]],
    ['isf', ['export', '--format', 'isf']],
  ] as [DownloadKind, string[]][])('%s: %j', async (kind, argv) => {
    const r = await cli(...argv);
    expect(r.code).toBe(0);
    expect(text(kind)).toBe(r.out);
  });
});
