/**
 * The diff panel in Chromium: a second capture opened beside the first (the "Diff with…" button,
 * or `serve A B`) lists exactly the changes `diff --json` gives, member by member, and the bytes
 * it marks in both hex views are exactly the bytes in which the two files differ.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOptions } from '../../src/cli/commands/serve.js';
import type { DiffResult } from '../../src/web/protocol.js';
import { cli, launchChromium, newPage, openFile, serveInspector, treeReady, webRoot } from './browser.js';

const SAMPLE = resolve(__dirname, '../../fixtures/sample-x64.bin');
const BASE = '0xffffc70a12340000';

let browser: Browser;
let after: string;
beforeAll(async () => {
  browser = await launchChromium();
  // B: the sample completed (four statuses change), and two bytes of a TCP block's RemoteMss changed by hand.
  const dir = mkdtempSync(join(tmpdir(), 'ndis-web-diff-'));
  after = join(dir, 'after.bin');
  copyFileSync(SAMPLE, after);
  const done = await cli('complete', after, '--base', BASE, '--operation', 'initiate', '--fail', '0xffffc70a12340178=NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
  expect(done.code).toBe(0);
  const bytes = readFileSync(after);
  bytes[0x220] = bytes[0x220]! ^ 0xff;
  bytes[0x221] = bytes[0x221]! ^ 0xff;
  writeFileSync(after, bytes);
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const diffOf = (page: Page): Promise<DiffResult | undefined> =>
  page.evaluate(() => JSON.parse(JSON.stringify(window.ndisOffloadInspector.diff ?? null)) ?? undefined);

/** The file offsets where two files differ. */
function differingBytes(a: string, b: string): number[] {
  const x = readFileSync(a);
  const y = readFileSync(b);
  const out: number[] = [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) out.push(i);
  return out;
}

/** File offsets of the bytes a hex view draws with a class. */
const offsetsWith = (page: Page, selector: string): Promise<number[]> =>
  page.$$eval(selector, (els) => els.map((e) => Number((e as HTMLElement).dataset.o)).sort((p, q) => p - q));

async function openDiff(page: Page): Promise<DiffResult> {
  await page.goto(`file://${join(await webRoot(), 'index.html')}`);
  await openFile(page, SAMPLE, { base: BASE });
  await page.selectOption('#operation-select', 'initiate');
  await page.click('#decode-button');
  await page.waitForFunction(() => window.ndisOffloadInspector.rows.length > 0);
  await page.setInputFiles('#diff-input', after);
  await page.waitForSelector('dialog input[name=base]');
  await page.fill('dialog input[name=base]', BASE);
  await page.click('dialog button[value=ok]');
  await page.waitForFunction(() => window.ndisOffloadInspector.diff !== undefined);
  return (await diffOf(page))!;
}

describe('the diff of two captures', () => {
  it("lists diff --json's changes, and marks in both hex views exactly the bytes that differ", async () => {
    const { page, errors } = await newPage(browser, { colorScheme: 'light' });
    try {
      const diff = await openDiff(page);
      const json = await cli('diff', SAMPLE, after, '--base', BASE, '--operation', 'initiate', '--json');
      expect(json.code).toBe(1);
      const want = JSON.parse(json.out) as { changes: { path: string; address: string; member: string; before?: unknown; after?: unknown }[]; onlyInA: string[]; onlyInB: string[] };
      expect(want.changes).toHaveLength(5);
      expect(diff.changes.map(({ path, address, member, before, after: b }) => ({ path, address, member, ...(before !== undefined ? { before } : {}), ...(b !== undefined ? { after: b } : {}) }))).toEqual(want.changes);
      expect([diff.onlyInA, diff.onlyInB]).toEqual([want.onlyInA, want.onlyInB]);
      expect(diff.operation).toBe('initiate');

      // The table says what diff's text says, line for line.
      const text = await cli('diff', SAMPLE, after, '--base', BASE, '--operation', 'initiate');
      const lines = text.out.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
      const cells = await page.$$eval('#diff-pane tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      expect(cells.map((c) => `${c[1]}: ${c[2]} -> ${c[3]}`)).toEqual(lines);
      expect(cells.map((c) => c[0])).toEqual(want.changes.map((c) => `${c.path}${c.address}`));
      expect(await page.textContent('#diff-pane .diff-summary')).toContain('5 fields differ, 0 blocks in one capture only');

      // Both files are regions at the same base: the marked bytes are where the files differ.
      const differ = differingBytes(SAMPLE, after);
      expect(differ.length).toBeGreaterThan(0);
      expect(diff.marksA).toEqual(differ);
      expect(diff.marksB).toEqual(differ);
      const mss = diff.changes.findIndex((c) => c.member === 'state.TCP_OFFLOAD_STATE_CONST.RemoteMss');
      expect(diff.changes[mss]!.a).toEqual({ row: 2, member: 'TCP_OFFLOAD_STATE_CONST.RemoteMss', fileOffset: 0x220, size: 2, marked: [0x220, 0x221] });
      expect(diff.changes[mss]!.b).toEqual(diff.changes[mss]!.a);

      // Choosing the RemoteMss change selects it in A and shows it in B; both hex views mark the bytes.
      await page.click(`#diff-pane tr[data-i="${mss}"]`);
      await page.waitForFunction(() => document.querySelector('#diff-hex .b.in-member[data-o="544"]') !== null && document.querySelector('#hex .b.in-member[data-o="544"]') !== null);
      const state = await page.evaluate(() => window.ndisOffloadInspector.selection);
      expect(state).toEqual({ row: 2, member: 'TCP_OFFLOAD_STATE_CONST.RemoteMss' });
      expect(await offsetsWith(page, '#diff-hex .b.in-member')).toEqual([0x220, 0x221]);
      for (const view of ['#hex', '#diff-hex']) {
        const shown = await page.$$eval(`${view} .b`, (els) => els.map((e) => Number((e as HTMLElement).dataset.o)));
        const [lo, hi] = [Math.min(...shown), Math.max(...shown)];
        expect(await offsetsWith(page, `${view} .b.changed`)).toEqual(differ.filter((o) => o >= lo && o <= hi));
      }
      // B's byte values are B's file.
      const b220 = await page.textContent('#diff-hex .b[data-o="544"]');
      expect(b220).toBe(readFileSync(after)[0x220]!.toString(16).padStart(2, '0'));

      // The keyboard walks the list: Home, then Down selects the next change in A.
      await page.focus(`#diff-pane tr[data-i="${mss}"]`);
      await page.keyboard.press('Home');
      await page.keyboard.press('ArrowDown');
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.row === 1);
      expect(await page.getAttribute('#diff-pane tr[data-i="1"]', 'aria-selected')).toBe('true');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-i'))).toBe('1');

      // Closing the diff takes the marks off A's bytes.
      await page.click('#diff-close');
      await page.waitForFunction(() => document.querySelector('#hex .b.changed') === null);
      expect(await page.isHidden('#diff-pane')).toBe(true);
      expect(await diffOf(page)).toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('decodes B again when A is decoded with another operation', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await openDiff(page);
      await page.selectOption('#operation-select', 'query');
      await page.click('#decode-button');
      await page.waitForFunction(() => window.ndisOffloadInspector.diff?.operation === 'query');
      const diff = (await diffOf(page))!;
      const want = JSON.parse((await cli('diff', SAMPLE, after, '--base', BASE, '--operation', 'query', '--json')).out);
      expect(diff.changes.map(({ path, member, before, after: b }) => ({ path, member, before, after: b }))).toEqual(want.changes.map(({ path, member, before, after: b }: Record<string, unknown>) => ({ path, member, before, after: b })));

      // Another capture opened as A: the diff was of the one before, and is closed with its marks.
      expect(await openFile(page, resolve(__dirname, '../../fixtures/query-x64.bin'), { base: '0xffffc70a22000000' })).toBe(7);
      await page.waitForFunction(() => window.ndisOffloadInspector.diff === undefined);
      expect(await page.isHidden('#diff-pane')).toBe(true);
      expect(await page.$$('#hex .b.changed')).toHaveLength(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("a B the library refuses: the CLI's message, no diff, and the page still diffs", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-web-diff-'));
    const cut = join(dir, 'cut.dmp');
    writeFileSync(cut, readFileSync(resolve(__dirname, '../../fixtures/sample-x64.dmp')).subarray(0, 100));
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(`file://${join(await webRoot(), 'index.html')}`);
      await openFile(page, SAMPLE, { base: BASE });
      await page.setInputFiles('#diff-input', cut);
      const alert = page.locator('dialog [role=alert]');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('not a complete crash dump header');
      await page.click('dialog button[value=ok]');
      expect(await diffOf(page)).toBeUndefined();
      expect(await page.isHidden('#diff-pane')).toBe(true);
      await page.setInputFiles('#diff-input', after);
      await page.waitForSelector('dialog input[name=base]');
      await page.fill('dialog input[name=base]', BASE);
      await page.click('dialog button[value=ok]');
      await page.waitForFunction(() => window.ndisOffloadInspector.diff !== undefined);
      expect((await diffOf(page))!.changes.length).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("a crash dump as B of a region: B's root is the one its scan finds (not A's), and the diff is diff's", async () => {
    const dump = resolve(__dirname, '../../fixtures/sample-x64.dmp');
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(`file://${join(await webRoot(), 'index.html')}`);
      await openFile(page, SAMPLE, { base: BASE });
      await page.setInputFiles('#diff-input', dump);
      await page.waitForFunction(() => window.ndisOffloadInspector.diff !== undefined);
      const diff = (await diffOf(page))!;
      const best = (JSON.parse((await cli('scan', dump, '--json')).out) as { candidates: { address: string }[] }).candidates[0]!.address;
      expect(best).not.toBe(BASE);
      expect(diff.b.root).toBe(best);
      const want = JSON.parse((await cli('diff', SAMPLE, dump, '--a-base', BASE, '--b-root', best, '--json')).out);
      expect(diff.changes.map(({ path, member, before, after: b }) => ({ path, member, before, after: b }))).toEqual(want.changes.map(({ path, member, before, after: b }: Record<string, unknown>) => ({ path, member, before, after: b })));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a capture against itself: no differences, nothing marked', async () => {
    const server = await serveInspector(serveOptions([SAMPLE, SAMPLE, '--base', BASE]).captures);
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(server.url);
      await treeReady(page);
      await page.waitForFunction(() => window.ndisOffloadInspector.diff !== undefined);
      const diff = (await diffOf(page))!;
      expect([diff.changes, diff.onlyInA, diff.onlyInB, diff.marksA, diff.marksB]).toEqual([[], [], [], [], []]);
      expect(await page.textContent('#diff-pane .diff-summary')).toContain('no differences');
      expect(await page.$$('#hex .b.changed')).toHaveLength(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });

  it("B is decoded for A's NDIS revision: an NDIS 6.0 capture against itself has no differences", async () => {
    const ndis60 = resolve(__dirname, '../../fixtures/every-state-type-ndis60-x64.bin');
    const base = (JSON.parse(readFileSync(ndis60.replace(/\.bin$/, '.json'), 'utf8')) as { base: string }).base;
    // (decoded for different revisions, the two would differ: the CLI says so)
    const mixed = await cli('diff', '--a-base', base, '--a-ndis', '6.0', '--b-base', base, '--operation', 'initiate', ndis60, ndis60);
    expect(mixed.code).toBe(1);
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(`file://${join(await webRoot(), 'index.html')}`);
      await page.selectOption('#ndis-select', '6.0');
      await page.selectOption('#operation-select', 'initiate');
      await openFile(page, ndis60, { base });
      await page.setInputFiles('#diff-input', ndis60);
      await page.waitForSelector('dialog input[name=base]');
      await page.fill('dialog input[name=base]', base);
      await page.click('dialog button[value=ok]');
      await page.waitForFunction(() => window.ndisOffloadInspector.diff !== undefined);
      const diff = (await diffOf(page))!;
      expect([diff.changes, diff.onlyInA, diff.onlyInB]).toEqual([[], [], []]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('serve A B opens A, and B diffed against it, with the options for both', async () => {
    const server = await serveInspector(serveOptions([SAMPLE, after, '--base', BASE]).captures);
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(server.url);
      expect(await treeReady(page)).toBe(10);
      await page.waitForFunction(() => window.ndisOffloadInspector.diff !== undefined);
      const diff = (await diffOf(page))!;
      const want = JSON.parse((await cli('diff', SAMPLE, after, '--base', BASE, '--json')).out);
      expect(diff.a.name).toBe('sample-x64.bin');
      expect(diff.b.name).toBe('after.bin');
      expect(diff.changes.map(({ path, member, before, after: b }) => ({ path, member, before, after: b }))).toEqual(want.changes.map(({ path, member, before, after: b }: Record<string, unknown>) => ({ path, member, before, after: b })));
      expect(diff.marksB).toEqual(differingBytes(SAMPLE, after));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
