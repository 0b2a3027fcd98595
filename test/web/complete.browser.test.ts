/**
 * Completing an operation in Chromium: the dialog takes the operation, the status of deciding
 * blocks (--status) and per-block statuses (--fail ADDRESS=STATUS); its preview says per block
 * what will be written and writes nothing; Complete writes it, the tree shows the new statuses, and
 * the downloaded capture is `ndis-offload complete`'s output on the same file and options byte for
 * byte. Undo takes the completion back whole; a read-only capture refuses with its reason.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedBytes, cliFile, cliOut, downloadFromMenu, fixture, gotoPage, tempDir } from './act.js';
import { launchChromium, newPage, openFile, pageState } from './browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** The statuses of `decode --json` in tree order. */
async function statusesOf(argv: string[]): Promise<string[]> {
  const doc = JSON.parse(await cliOut('decode', ...argv, '--json')) as { blocks: Block[] };
  type Block = { Status: { name: string }; dependents: Block[] };
  const out: string[] = [];
  const walk = (bs: Block[]): void => bs.forEach((b) => (out.push(b.Status.name), walk(b.dependents)));
  walk(doc.blocks);
  return out;
}

async function previewRows(page: Page): Promise<{ address: string; cells: string[] }[]> {
  return page.$$eval('dialog.complete-dialog .preview-table tbody tr', (trs) =>
    trs.map((tr) => ({ address: (tr as HTMLElement).dataset.address!, cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })),
  );
}

interface Case {
  name: string;
  file: string;
  base: string;
  abi: 'x64' | 'x86';
  operation: string;
  status?: string;
  fail?: [string, string][];
}

const CASES: Case[] = [
  { name: 'initiate with a --fail', file: 'initiate-x86.bin', base: '0x8a400000', abi: 'x86', operation: 'initiate', fail: [['0x8a4003b4', 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES']] },
  { name: 'initiate with --status and two --fail', file: 'sample-x64.bin', base: '0xffffc70a12340000', abi: 'x64', operation: 'initiate', status: 'NDIS_STATUS_RESOURCES', fail: [['0xffffc70a12340178', 'NDIS_STATUS_OFFLOAD_TCP_RCV_BUFFER'], ['0xffffc70a12340918', 'NDIS_STATUS_SUCCESS']] },
  { name: 'terminate with --status', file: 'terminate-x64.bin', base: JSON.parse(readFileSync(fixture('terminate-x64.json'), 'utf8')).base as string, abi: 'x64', operation: 'terminate', status: 'NDIS_STATUS_FAILURE' },
];

describe('completing an operation', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: the preview, then the bytes of ndis-offload complete', async (_, c) => {
    const { page, errors } = await newPage(browser);
    try {
      await gotoPage(page, '', c.operation);
      await openFile(page, fixture(c.file), { base: c.base, abi: c.abi });
      const rows = (await pageState(page)).rows;
      const failArgs = (c.fail ?? []).flatMap(([a, s]) => ['--fail', `${a}=${s}`]);
      const options = ['--base', c.base, '--abi', c.abi, '--operation', c.operation, ...(c.status ? ['--status', c.status] : []), ...failArgs];
      const want = await cliFile(['complete', fixture(c.file), ...options]);

      await page.click('#complete-button');
      await page.waitForSelector('dialog.complete-dialog');
      expect(await page.inputValue('dialog.complete-dialog select[name=operation]')).toBe(c.operation);
      if (c.status) await page.selectOption('dialog.complete-dialog select[name=status]', c.status);
      for (const [k, [address, status]] of (c.fail ?? []).entries()) {
        await page.click('dialog.complete-dialog button.add-fail');
        await page.selectOption(`dialog.complete-dialog tbody tr >> nth=${k} >> select[name=fail-block]`, address);
        await page.selectOption(`dialog.complete-dialog tbody tr >> nth=${k} >> select[name=fail-status]`, status);
      }
      expect(await page.isDisabled('dialog.complete-dialog button.apply-button')).toBe(true);
      await page.click('dialog.complete-dialog button.preview-button');
      await page.waitForSelector('dialog.complete-dialog .preview-table');

      // The preview: per block, its status now and what complete will write (the statuses of its output).
      const after = await statusesOf([fixture(c.file), '--base', c.base, '--abi', c.abi, '--operation', c.operation]);
      const completed = join(tempDir(), 'done.bin');
      writeFileSync(completed, want);
      const done = await statusesOf([completed, '--base', c.base, '--abi', c.abi, '--operation', c.operation]);
      const shown = await previewRows(page);
      expect(shown.map((r) => r.address)).toEqual(rows.map((r) => r.address));
      expect(shown.map((r) => r.cells[2])).toEqual(after);
      expect(shown.map((r) => r.cells[3])).toEqual(done.map((s, i) => (s === after[i] ? 'unchanged' : `→ ${s}`)));
      expect(shown.some((r) => r.cells[3] !== 'unchanged')).toBe(true);
      // Nothing is written by the preview.
      expect(await changedBytes(page)).toBe(0);

      await page.click('dialog.complete-dialog button.apply-button');
      await page.waitForSelector('dialog.complete-dialog', { state: 'detached' });
      await page.waitForFunction((n) => window.ndisOffloadInspector.edits.changed.length > n, 0);
      expect((await pageState(page)).rows.map((r) => r.status)).toEqual(done);
      const got = await downloadFromMenu(page, 'capture');
      expect(got.bytes.equals(want)).toBe(true);

      // Undo takes the whole completion back.
      await page.click('#undo-button');
      await changedBytes(page, 0);
      expect((await downloadFromMenu(page, 'capture')).bytes.equals(readFileSync(fixture(c.file)))).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a preview goes stale when the choices change: Complete waits for a new one', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await gotoPage(page, '', 'initiate');
      await openFile(page, fixture('sample-x64.bin'), { base: '0xffffc70a12340000' });
      await page.click('#complete-button');
      await page.click('dialog.complete-dialog button.preview-button');
      await page.waitForSelector('dialog.complete-dialog .preview-table');
      expect(await page.isDisabled('dialog.complete-dialog button.apply-button')).toBe(false);
      // Another operation allows other statuses (the list follows) and needs a new preview.
      await page.selectOption('dialog.complete-dialog select[name=operation]', 'terminate');
      expect(await page.isDisabled('dialog.complete-dialog button.apply-button')).toBe(true);
      const offered = await page.$$eval('dialog.complete-dialog select[name=status] option', (os) => os.map((o) => (o as HTMLOptionElement).value));
      expect(offered).toEqual(['', 'NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE']);
      expect(await page.textContent('dialog.complete-dialog .complete-preview')).toBe('The choices changed: preview again before completing.');
      // A --fail line without its status is refused by name before anything is asked of the Worker.
      await page.click('dialog.complete-dialog button.add-fail');
      await page.click('dialog.complete-dialog button.preview-button');
      expect(await page.textContent('dialog.complete-dialog [role=alert]')).toMatch(/^--fail 0x[0-9a-f]+: choose its status, or remove the line$/);
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog.complete-dialog', { state: 'detached' });
      expect(await changedBytes(page)).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a crash dump refuses to complete, with its reason', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await gotoPage(page);
      await openFile(page, fixture('sample-x64.dmp'));
      // The capture's own reason, as the Worker's summary gives it for a crash dump.
      const reason = 'dump captures are read-only here';
      expect(await page.evaluate(() => window.ndisOffloadInspector.summary?.readOnlyReason)).toBe(reason);
      await page.click('#complete-button');
      await page.waitForSelector('dialog.read-only-dialog');
      expect(await page.textContent('dialog.read-only-dialog [role=alert]')).toBe(`Completing is refused: ${reason}.`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
