/**
 * Helpers of the browser tests that act on a capture (edit, complete, download): the page at a
 * selection, a download through the Download dialog read back as bytes, and the CLI's output
 * files.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { cli, webRoot } from './browser.js';

export const FIXTURES = resolve(__dirname, '../../fixtures');
export const fixture = (n: string): string => join(FIXTURES, n);
export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'ndis-web-act-'));

/** The page from file://, with a fragment (a selection to show once the tree is decoded) and an operation to decode for. */
export async function gotoPage(page: Page, fragment = '', operation = ''): Promise<void> {
  await page.goto(`file://${join(await webRoot(), 'index.html')}${fragment ? `#${fragment}` : ''}`);
  if (operation) await page.selectOption('#operation-select', operation);
}

/** Saves what a click starts downloading, and gives its name and bytes. */
export async function downloadBy(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), click()]);
  const failure = await download.failure();
  expect(failure).toBeNull();
  const path = await download.path();
  return { name: download.suggestedFilename(), bytes: readFileSync(path) };
}

/** A download from the Download… dialog. */
export async function downloadFromMenu(page: Page, kind: string): Promise<{ name: string; bytes: Buffer }> {
  await page.click('#download-button');
  const got = await downloadBy(page, () => page.click(`dialog.download-dialog button[data-download="${kind}"]`));
  await page.click('dialog.download-dialog button:text("Close")');
  await page.waitForSelector('dialog.download-dialog', { state: 'detached' });
  return got;
}

/** Runs the CLI and gives its standard output, failing on a non-zero exit. */
export async function cliOut(...argv: string[]): Promise<string> {
  const r = await cli(...argv);
  expect(r.code, r.err).toBe(0);
  return r.out;
}

/** Runs a CLI command that writes `-o FILE` and gives the file's bytes. */
export async function cliFile(argv: string[], name = 'out.bin'): Promise<Buffer> {
  const out = join(tempDir(), name);
  const r = await cli(...argv, '-o', out);
  expect(r.code, r.err).toBe(0);
  return readFileSync(out);
}

/** Waits until the page's edits state says `n` bytes differ from the file as opened. */
export async function changedBytes(page: Page, n?: number): Promise<number> {
  if (n !== undefined) await page.waitForFunction((want) => window.ndisOffloadInspector.edits.changed.length === want, n);
  return page.evaluate(() => window.ndisOffloadInspector.edits.changed.length);
}
