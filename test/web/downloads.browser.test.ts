/**
 * The downloads in Chromium (Blob + <a download>, caught by playwright's download event), each
 * compared byte for byte with the CLI's output for the same capture and options: the JSON
 * document (`decode --json`), the annotated hexdump (`hexdump`, `hexdump --json`) and the
 * structure exports (`export --format ksy|hexpat|isf`), for regions of both ABIs and a crash
 * dump; after an edit, the JSON document is that of the edited capture.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOut, downloadFromMenu, fixture, gotoPage, tempDir } from './act.js';
import { launchChromium, newPage, openFile, pageState } from './browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

interface Case {
  name: string;
  files: string[];
  region?: { base: string; abi: 'x64' | 'x86' };
  operation: string;
}

const CASES: Case[] = [
  { name: 'an x64 region decoded for initiate', files: ['sample-x64.bin'], region: { base: '0xffffc70a12340000', abi: 'x64' }, operation: 'initiate' },
  { name: 'an x86 region, operation inferred', files: ['ipv6-x86.bin'], region: { base: '0x8b000000', abi: 'x86' }, operation: '' },
  { name: 'a crash dump', files: ['sample-x64.dmp'], operation: '' },
];

/** The download names and the command whose output each is. */
function expected(c: Case, root: string, base: string | undefined): [string, string, string[]][] {
  const file = fixture(c.files[0]!);
  const source = c.region ? [file, '--base', c.region.base, '--abi', c.region.abi] : [file, '--root', root];
  const op = c.operation ? ['--operation', c.operation] : [];
  const abi = c.region?.abi ?? 'x64';
  const stem = c.files[0]!.replace(/\.[^.]*$/, '');
  const at = base ? ['--base', base] : [];
  return [
    ['json', `${stem}.json`, ['decode', ...source, ...op, '--json']],
    ['hexdump', `${stem}.hexdump.txt`, ['hexdump', ...source, ...op]],
    ['hexdump-json', `${stem}.hexdump.json`, ['hexdump', ...source, ...op, '--json']],
    ['ksy', 'ndis_offload.ksy', ['export', '--format', 'ksy', '--abi', abi, ...at]],
    ['hexpat', 'ndis_offload.hexpat', ['export', '--format', 'hexpat', '--abi', abi, ...at]],
    ['isf', `ndis_offload-${abi}.json`, ['export', '--format', 'isf', '--abi', abi]],
  ];
}

describe('downloads are the CLI output byte for byte', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const { page, errors } = await newPage(browser);
    try {
      await gotoPage(page, '', c.operation);
      await openFile(page, c.files.map(fixture), c.region);
      const state = await pageState(page);
      const offered = async (): Promise<string[]> => {
        await page.click('#download-button');
        const kinds = await page.$$eval('dialog.download-dialog [data-download]', (bs) => bs.map((b) => (b as HTMLElement).dataset.download!));
        await page.keyboard.press('Escape');
        await page.waitForSelector('dialog.download-dialog', { state: 'detached' });
        return kinds;
      };
      // A region downloads its (edited) bytes; a read-only capture its tree as a region instead.
      expect(await offered()).toEqual([...(c.region ? ['capture'] : ['region', 'region-json']), 'json', 'hexdump', 'hexdump-json', 'ksy', 'hexpat', 'isf']);
      for (const [kind, name, argv] of expected(c, state.rows[0]!.address, c.region?.base)) {
        const got = await downloadFromMenu(page, kind);
        expect(got.name).toBe(name);
        expect(got.bytes.toString('utf8'), `${kind}: ${argv.join(' ')}`).toBe(await cliOut(...argv));
      }
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('after an edit, the JSON document and the hexdump are those of the edited capture', async () => {
    const { page, errors } = await newPage(browser);
    try {
      const base = '0xffffc70a12340000';
      await gotoPage(page, 'blocks[0].dependents[0].dependents[0]/TCP_OFFLOAD_STATE_CONST.LocalPort', 'initiate');
      await openFile(page, fixture('sample-x64.bin'), { base });
      await page.locator('#details tr[data-member="TCP_OFFLOAD_STATE_CONST.LocalPort"]').press('Enter');
      await page.fill('dialog.edit-dialog input[name=value]', '445');
      await page.click('dialog.edit-dialog button[type=submit]');
      await page.waitForSelector('dialog.edit-dialog', { state: 'detached' });
      const capture = await downloadFromMenu(page, 'capture');
      const edited = join(tempDir(), 'edited.bin');
      writeFileSync(edited, capture.bytes);
      const json = await downloadFromMenu(page, 'json');
      expect(json.bytes.toString('utf8')).toBe(await cliOut('decode', edited, '--base', base, '--operation', 'initiate', '--json'));
      expect(json.bytes.toString('utf8')).toContain('"LocalPort": 48385');
      const hexdump = await downloadFromMenu(page, 'hexdump');
      expect(hexdump.bytes.toString('utf8')).toBe(await cliOut('hexdump', edited, '--base', base, '--operation', 'initiate'));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
