/**
 * The Worker's diff (src/web/worker/diff.ts) in Node, over files: the changes are `diff --json`'s,
 * and each is placed in both files at the member's own bytes, also when the two captures lay the
 * tree out differently (a crash dump's pages against a region): the marked bytes are exactly the
 * member's bytes that differ, read from each file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileReader } from '../../src/capture/reader.js';
import { main } from '../../src/cli/main.js';
import type { MemberRow } from '../../src/web/protocol.js';
import { diffSessions, memberRowOf } from '../../src/web/worker/diff.js';
import { Session } from '../../src/web/worker/session.js';

const DUMP = resolve('fixtures/sample-x64.dmp');
const REGION = resolve('fixtures/sample-x64.bin');
const BASE = '0xffffc70a12340000';
const DUMP_ROOT = '0xffffc70a12340f80';

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, { out: (t) => (out += t), err: () => {}, stdoutIsTty: false, env: {} });
  return { code, out };
}

const sessions: Session[] = [];
function open(path: string, settings?: { kind: 'region'; base: string }): Session {
  const s = new Session(sessions.length + 1, openFileReader(path), settings ? { settings } : {});
  sessions.push(s);
  return s;
}
afterAll(() => {
  for (const s of sessions) s.close();
});

describe('memberRowOf: diff names to member rows', () => {
  const row = (path: string, extra: Partial<MemberRow> = {}): MemberRow => ({ path, name: path.split('.').pop()!, depth: 1, ctype: 'ULONG', address: '0x0', offset: 0, size: 4, fileOffset: 0, raw: '', value: '', meaning: '', editable: false, struct: false, ...extra });
  const rows = [
    row('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', { depth: 0, struct: true }),
    row('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header', { struct: true }),
    row('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type', { depth: 2 }),
    row('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status'),
    row('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.padding', { padding: true }),
    row('TCP_OFFLOAD_STATE_CONST', { depth: 0, struct: true }),
    row('TCP_OFFLOAD_STATE_CONST.RemoteMss'),
    row('PATH_OFFLOAD_STATE_CONST.SourceAddress'),
  ];
  it.each([
    ['Status', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status'],
    ['Header.Type', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type'],
    ['state.TCP_OFFLOAD_STATE_CONST.RemoteMss', 'TCP_OFFLOAD_STATE_CONST.RemoteMss'],
    ['state.PATH_OFFLOAD_STATE_CONST.SourceAddress', 'PATH_OFFLOAD_STATE_CONST.SourceAddress'],
  ])('%s is the row %s', (member, path) => {
    expect(memberRowOf(member, rows)?.path).toBe(path);
  });
  it.each(['address', 'layer', 'role', 'type', 'padding', 'state.PATH_OFFLOAD_STATE_CONST.*SourceAddress', 'state.TCP_OFFLOAD_STATE_CONST'])('%s has no bytes of its own', (member) => {
    expect(memberRowOf(member, rows)).toBeUndefined();
  });
});

describe('diffSessions', () => {
  it("a crash dump against a region: diff --json's changes, each member's differing bytes marked in both files", async () => {
    const a = open(DUMP);
    a.decode(DUMP_ROOT);
    const b = open(REGION, { kind: 'region', base: BASE });
    b.decode();
    const d = diffSessions(a, b);
    const want = await cli('diff', DUMP, REGION, '--a-root', DUMP_ROOT, '--b-base', BASE, '--json');
    expect(want.code).toBe(1);
    const doc = JSON.parse(want.out) as { changes: Record<string, unknown>[]; onlyInA: string[]; onlyInB: string[] };
    expect(d.changes.map(({ path, address, member, before, after }) => ({ path, address, member, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) }))).toEqual(doc.changes);
    expect([d.onlyInA, d.onlyInB]).toEqual([doc.onlyInA, doc.onlyInB]);
    expect(d.a).toEqual({ session: a.id, name: DUMP, root: DUMP_ROOT });

    const fa = readFileSync(DUMP);
    const fb = readFileSync(REGION);
    // A's root block is in the dump's file where its page is stored (past the dump's headers), B's at offset 0 of the region.
    const next = d.changes.find((c) => c.path === 'blocks[0]' && c.member === 'NextBlock')!;
    const inDump = a.locate('0xffffc70a12340f88')!.offset;
    expect(inDump).toBeGreaterThan(0x2000);
    expect(next.a).toMatchObject({ row: 0, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock', fileOffset: inDump, size: 8 });
    // The file holds the pointer's value there, as decode read it.
    expect(`0x${fa.readBigUInt64LE(inDump).toString(16)}`).toBe(next.before);
    expect(next.b).toMatchObject({ row: 0, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock', fileOffset: 8, size: 8 });

    let placed = 0;
    for (const c of d.changes) {
      if (c.member === 'address') {
        // The block's address is no member: listed, nothing marked.
        expect(c.a?.member).toBeUndefined();
        expect([c.a?.marked, c.b?.marked]).toEqual([[], []]);
        continue;
      }
      const x = c.a!;
      const y = c.b!;
      expect(x.member, c.member).toBeDefined();
      expect(x.size).toBe(y.size);
      // Byte i of the member: marked in both files exactly when the two files' bytes differ there.
      const differ: number[] = [];
      for (let i = 0; i < x.size; i++) if (fa[x.fileOffset! + i] !== fb[y.fileOffset! + i]) differ.push(i);
      expect(differ.length, c.member).toBeGreaterThan(0);
      expect(x.marked, c.member).toEqual(differ.map((i) => x.fileOffset! + i));
      expect(y.marked, c.member).toEqual(differ.map((i) => y.fileOffset! + i));
      placed++;
    }
    expect(placed).toBeGreaterThan(10);
    expect(d.marksA).toEqual([...new Set(d.changes.flatMap((c) => c.a?.marked ?? []))].sort((p, q) => p - q));
    expect(d.marksB).toEqual([...new Set(d.changes.flatMap((c) => c.b?.marked ?? []))].sort((p, q) => p - q));
  });

  it('a capture not decoded yet is a usage error that says so', () => {
    const a = open(REGION, { kind: 'region', base: BASE });
    const b = open(REGION, { kind: 'region', base: BASE });
    a.decode();
    expect(() => diffSessions(a, b)).toThrow(`${REGION}: decode a tree first (no root yet)`);
  });
});
