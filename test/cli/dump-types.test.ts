// The command line on DumpTypes 6, 8, 9 and 10: with only --root, decode gives the region's
// document, scan finds the roots, info names the type; a lying RDMP field is one line, exit 3,
// naming its file offset.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeBitmapDump, writeRdmpDump } from '../../src/codec/dump-writer.js';
import { RDMP } from '../../src/codec/dump.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { HEADER, normalised, standardSpace, standardTrees, writeCaptures, writeRegion } from '../support/dump-trees.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty: false, env: {} });
  return { code, out, err };
}

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
// writeCaptures gives the folder (and full, bitmap and raw files the tests here do not need).
const DIR = writeCaptures(SPACE, 'ndis-cli-dump-types-').dir;
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const hex = (v: bigint): string => `0x${v.toString(16)}`;

const FILES: { type: number; name: string; path: string }[] = [
  { type: 6, name: 'live kernel bitmap dump', path: join(DIR, 'live.dmp') },
  { type: 8, name: 'kernel memory dump (RDMP)', path: join(DIR, 'kernel.dmp') },
  { type: 9, name: 'kernel and user memory dump (RDMP)', path: join(DIR, 'kernel-user.dmp') },
  { type: 10, name: 'complete memory dump (RDMP)', path: join(DIR, 'complete.dmp') },
];
writeBitmapDump(SPACE, { ...HEADER, dumpType: 6 }).toFile(FILES[0]!.path);
writeRdmpDump(SPACE, { ...HEADER, dumpType: 8, descending: true }).toFile(FILES[1]!.path);
writeRdmpDump(SPACE, { ...HEADER, dumpType: 9, alignPages: false }).toFile(FILES[2]!.path);
writeRdmpDump(SPACE, { ...HEADER, dumpType: 10 }).toFile(FILES[3]!.path);

describe('DumpTypes 6, 8, 9, 10 on the command line', () => {
  for (const f of FILES) {
    it(`type ${f.type}: info names it, decode --json of every tree is the region's document, scan finds the roots`, async () => {
      const info = await run(['info', f.path, '--json']);
      expect(info.code).toBe(0);
      expect(JSON.parse(info.out)).toMatchObject({ dumpType: f.type, dumpTypeName: f.name, warnings: [] });
      const text = await run(['info', f.path]);
      expect(text.out).toContain(`dump type            ${f.type} (${f.name}`);
      for (const t of TREES) {
        const plain = await run(['decode', writeRegion(DIR, t), '--base', hex(t.root), ...t.args, '--json']);
        const r = await run(['decode', f.path, '--root', hex(t.root), ...t.args, '--json']);
        expect([r.code, r.err]).toEqual([plain.code, '']);
        expect(normalised(JSON.parse(r.out) as TreeDocument)).toEqual(normalised(JSON.parse(plain.out) as TreeDocument));
      }
      const scan = await run(['scan', f.path, '--json']);
      expect(scan.code).toBe(0);
      const roots = (JSON.parse(scan.out) as { candidates: { address: string }[] }).candidates.map((c) => c.address);
      for (const t of TREES) expect(roots).toContain(hex(t.root));
    });
  }

  it('a lying RDMP field: one line, exit 3, the file offset of the field', async () => {
    const b = Buffer.from(readFileSync(FILES[1]!.path));
    b.writeBigUInt64LE(0xffffffffn, RDMP.MetadataSize);
    const bad = join(DIR, 'lying.dmp');
    writeFileSync(bad, b);
    for (const command of ['info', 'decode', 'scan']) {
      const r = await run([command, bad, ...(command === 'decode' ? ['--root', hex(TREES[0]!.root)] : [])]);
      expect([command, r.code, r.out]).toEqual([command, 3, '']);
      expect(r.err).toBe(`ndis-offload: ${bad}: dump @0x2010: MetadataSize 0xffffffff ends the metadata at file offset 0x10000201f, past the end of the file (0x${b.length.toString(16)} bytes)\n`);
    }
  });
});
