/**
 * The screenshots docs/web.md shows, taken in Debian's Chromium from the built page on the bundled
 * sample: the inspector in the light and the dark theme (a TCP block's member selected: the tree,
 * its details and its bytes), the hex view close up, and the diff panel (the sample against a
 * completed copy of it). `npx tsx scripts/screenshots.ts` builds dist/web and writes
 * docs/images/; the browser tests call takeScreenshots() to save the same into reports/screenshots/.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { main } from '../src/cli/main.js';
import { launchChromium } from '../test/web/browser.js';
import { buildWeb } from './build-web.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE = join(root, 'fixtures/sample-x64.bin');
const BASE = '0xffffc70a12340000';

export interface Shot {
  name: string;
  colorScheme: 'light' | 'dark';
  width: number;
  height: number;
  /** What the picture shows: the whole page, the hex pane, or the page with the diff panel open. */
  view: 'page' | 'hex' | 'diff';
}

export const SHOTS: readonly Shot[] = [
  { name: 'inspector-light.png', colorScheme: 'light', width: 1600, height: 900, view: 'page' },
  { name: 'inspector-dark.png', colorScheme: 'dark', width: 1600, height: 900, view: 'page' },
  { name: 'inspector-hex.png', colorScheme: 'light', width: 1600, height: 900, view: 'hex' },
  { name: 'inspector-diff.png', colorScheme: 'light', width: 1900, height: 900, view: 'diff' },
];

const quiet = { out: () => {}, err: () => {}, stdoutIsTty: false, env: {} };

/** Opens the sample (a region) through the file input and its dialog, decoded as an initiate request, with a TCP block's RemotePort selected. */
async function openSample(page: Page, index: string): Promise<void> {
  await page.goto(index);
  await page.setInputFiles('#file-input', SAMPLE);
  await page.waitForSelector('dialog input[name=base]');
  await page.fill('dialog input[name=base]', BASE);
  await page.click('dialog button[value=ok]');
  await page.waitForFunction(() => document.body.dataset.ready === '10');
  await page.selectOption('#operation-select', 'initiate');
  await page.click('#decode-button');
  await page.waitForSelector('#details tr[data-member]');
  await page.click('[role=treeitem] >> text=0xffffc70a12340178');
  await page.click('#details tr[data-member="TCP_OFFLOAD_STATE_CONST.RemotePort"]');
  await page.waitForSelector('#hex .b.in-member');
}

/** Takes every shot of SHOTS from the page built in `webRoot`; writes them into `outDir`. */
export async function takeScreenshots(browser: Browser, webRoot: string, outDir: string): Promise<{ name: string; width: number; height: number }[]> {
  mkdirSync(outDir, { recursive: true });
  const index = `file://${join(webRoot, 'index.html')}`;
  // B of the diff: the sample completed, one block failed (four statuses change).
  const tmp = mkdtempSync(join(tmpdir(), 'ndis-shots-'));
  const after = join(tmp, 'completed.bin');
  copyFileSync(SAMPLE, after);
  const code = await main(['complete', after, '--base', BASE, '--operation', 'initiate', '--fail', '0xffffc70a12340178=NDIS_STATUS_OFFLOAD_TCP_ENTRIES'], quiet);
  if (code !== 0) throw new Error(`complete of the sample failed (exit ${code})`);
  const written: { name: string; width: number; height: number }[] = [];
  try {
    for (const shot of SHOTS) {
      const page = await browser.newPage({ viewport: { width: shot.width, height: shot.height }, colorScheme: shot.colorScheme });
      try {
        await openSample(page, index);
        if (shot.view === 'diff') {
          await page.setInputFiles('#diff-input', after);
          await page.waitForSelector('dialog input[name=base]');
          await page.fill('dialog input[name=base]', BASE);
          await page.click('dialog button[value=ok]');
          await page.waitForSelector('#diff-pane tr[data-i]');
          await page.click('#diff-pane tr[data-i="2"]');
          await page.waitForSelector('#diff-hex .b.in-member');
        }
        await page.mouse.move(0, 0);
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        const path = join(outDir, shot.name);
        if (shot.view === 'hex') {
          const box = (await page.locator('.hex-pane').boundingBox())!;
          const clip = { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
          await page.screenshot({ path, clip });
          written.push({ name: shot.name, width: clip.width, height: clip.height });
        } else {
          await page.screenshot({ path });
          written.push({ name: shot.name, width: shot.width, height: shot.height });
        }
      } finally {
        await page.close();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : join(root, 'docs/images');
  const { outDir } = await buildWeb();
  const browser = await launchChromium();
  try {
    for (const w of await takeScreenshots(browser, outDir, out)) console.log(`${join(out, w.name)} ${w.width}x${w.height}`);
  } finally {
    await browser.close();
  }
}
