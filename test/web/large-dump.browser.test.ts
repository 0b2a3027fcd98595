/**
 * A 2 GiB crash dump in Chromium: a sparse bitmap dump of a 2 GiB machine (large-x64's 1,022
 * blocks in it, every RAM page "stored", the file all holes but a few hundred KB) opened through
 * the file input of a file:// page. Its tree is the one `decode --json` gives, it is on screen
 * within 3 s, the page's and the Worker's JS heaps stay far under 100 MB, and the Worker reads a
 * few MB of the file, never the file.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageHeap, workerHeap, collectGarbage, writeSparseDump } from '../../bench/web.js';
import { cli, documentRows, launchChromium, newPage, openFile, pageState, webRoot } from './browser.js';

const MB = 2 ** 20;

let browser: Browser;
let dir: string;
let dump: { file: string; root: string; size: number };
beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'ndis-2g-'));
  const file = join(dir, 'machine-2g.dmp');
  const { root, size } = writeSparseDump(file);
  dump = { file, root: `0x${root.toString(16)}`, size };
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Io {
  reads: number;
  bytesRead: number;
  largestRead: number;
}

describe('a 2 GiB sparse crash dump', () => {
  it('is 2 GiB long and costs almost no disk', () => {
    const st = statSync(dump.file);
    expect(st.size).toBe(dump.size);
    expect(st.size).toBeGreaterThan(2047 * MB);
    expect(st.blocks * 512).toBeLessThan(8 * MB);
  });

  it('opens through the file input: the tree of decode --json within 3 s, heaps under 100 MB, a few MB read', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(`file://${join(await webRoot(), 'index.html')}`);
      const t0 = performance.now();
      const count = await openFile(page, dump.file);
      await page.waitForSelector('#tree [role=treeitem]');
      const ms = performance.now() - t0;
      // The target is 3 s (the CLI opens and decodes it in well under one); measured here about 0.4-0.7 s on a loaded 2-core machine.
      expect(ms).toBeLessThan(3000);
      // No root given: the page scanned, opened the best root, and shows the whole tree of decode --json.
      const state = await pageState(page);
      expect(state.summary?.format).toBe('dump');
      expect(state.summary?.size).toBe(dump.size);
      const want = JSON.parse((await cli('decode', dump.file, '--root', dump.root, '--json')).out);
      expect(count).toBe(1022);
      expect(state.rows.map(({ path, depth, layer, role, type, status, address, offset }) => ({ path, depth, layer, role, type, status, address, offset }))).toEqual(documentRows(want));

      // Heaps after a garbage collection: what the page and the Worker keep.
      await collectGarbage(page);
      const pageBytes = await pageHeap(page);
      const workerBytes = await workerHeap(browser);
      expect(workerBytes).toBeDefined();
      // Measured about 3 MB and 3 MB: the target is 100 MB for both together, whatever the file's size.
      expect(pageBytes).toBeGreaterThan(0);
      expect(pageBytes + workerBytes!).toBeLessThan(100 * MB);

      // The Worker's reads so far: the header, the bitmap, the page tables and the tree's pages.
      const worker = page.workers()[0]!;
      const io = (): Promise<Io> => worker.evaluate(() => (globalThis as unknown as { ndisOffloadWorkerIo: Io }).ndisOffloadWorkerIo);
      const opened = await io();
      expect(opened.reads).toBeGreaterThan(0);
      // Measured 59 reads, 285 KiB, none over 64 KiB.
      expect(opened.bytesRead).toBeLessThan(2 * MB);
      expect(opened.largestRead).toBeLessThanOrEqual(MB);

      // Browsing: the last row of the file, a selection deep in the tree, and back to the top.
      await page.focus('#hex');
      await page.keyboard.press('Control+End');
      await expect.poll(async () => (await pageState(page)).cursor).toBe(dump.size - 1);
      await page.keyboard.press('Control+Home');
      await expect.poll(async () => (await pageState(page)).cursor).toBe(0);
      const last = state.rows.length - 1;
      await page.evaluate((r) => {
        const s = window.ndisOffloadInspector;
        location.hash = `#${encodeURIComponent(s.rows[r]!.path)}`;
      }, last);
      await expect.poll(async () => (await pageState(page)).selection?.row, { timeout: 10_000 }).toBe(last);
      const browsed = await io();
      expect(browsed.bytesRead - opened.bytesRead).toBeLessThan(4 * MB);
      expect(browsed.bytesRead).toBeLessThan(dump.size / 100);
      await collectGarbage(page);
      expect((await pageHeap(page)) + ((await workerHeap(browser)) ?? 0)).toBeLessThan(100 * MB);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
