// The bundled LiME and VMware samples are exactly what scripts/capture-fixtures.ts writes, and
// decode through the CLI with only --root to the document of the tree as a region (the LiME
// capture's DTB found by discovery, the VMware one's from the state file, either file given).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { CAPTURE_SAMPLES, buildCaptureSamples } from '../support/capture-samples.js';
import { normalised, placeTree, writeRegion } from '../support/dump-trees.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty: false, env: {} });
  return { code, out, err };
}
const root = `0x${CAPTURE_SAMPLES.root.toString(16)}`;

describe('bundled capture samples', () => {
  // The tree as a plain region at its root (the same bytes the samples map there).
  const dir = mkdtempSync(join(tmpdir(), 'ndis-capture-samples-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const region = writeRegion(dir, placeTree('sample-x64'));
  const built = buildCaptureSamples();
  for (const [name, path] of Object.entries(CAPTURE_SAMPLES.files)) {
    it(`${path} is what the script writes, and decodes to the region's document`, async () => {
      expect(Buffer.from(built[name as keyof typeof built]).equals(readFileSync(path))).toBe(true);
      const plain = await run(['decode', region, '--base', root, '--operation', 'initiate', '--json']);
      const r = await run(['decode', path, '--root', root, '--operation', 'initiate', '--json']);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(normalised(JSON.parse(r.out) as TreeDocument)).toEqual(normalised(JSON.parse(plain.out) as TreeDocument));
    });
  }
  it("info names the LiME sample's DTB as found, the VMware sample's as its CPU's", async () => {
    const lime = await run(['info', CAPTURE_SAMPLES.files.lime]);
    expect(lime.out).toMatch(/\nDTB +0x1b3000 from discovery: DTB 0x1b3000 \(x64, self-map scan at 0x1b3000: self-map index 0x1a3, \d+ kernel entries, KUSER_SHARED_DATA mapped\)\n/);
    const vmware = await run(['info', CAPTURE_SAMPLES.files.vmss]);
    expect(vmware.out).toMatch(/\nDTB +0x1b3000 from CPU 0's CR3: CPU 0 of 1: CR3 0x1b3001 /);
  });
});
