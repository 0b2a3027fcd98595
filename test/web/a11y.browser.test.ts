/**
 * Accessibility of the inspector in Chromium: axe-core (the devDependency's axe.min.js, injected
 * into the page) finds no serious or critical violation on the main views (the empty page, a
 * decoded region with a member selected, a crash dump, a tree with diagnostics, each dialog, the
 * diff panel), in the light and the dark theme; and everything is reachable from the keyboard:
 * Tab walks every control and view in order (no hidden stop, no trap), and opening a capture, a
 * diff and Go to work without the mouse. The screenshots docs/web.md shows are saved too
 * (reports/screenshots/, for CI), and checked to be the page in each theme.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOTS, takeScreenshots } from '../../scripts/screenshots.js';
import { cli, launchChromium, newPage, openFile, pageState, webRoot } from './browser.js';

const FIXTURES = resolve(__dirname, '../../fixtures');
const SAMPLE = join(FIXTURES, 'sample-x64.bin');
const BASE = '0xffffc70a12340000';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let browser: Browser;
let after: string;
let cut: string;
beforeAll(async () => {
  browser = await launchChromium();
  const dir = mkdtempSync(join(tmpdir(), 'ndis-web-a11y-'));
  after = join(dir, 'after.bin');
  copyFileSync(SAMPLE, after);
  expect((await cli('complete', after, '--base', BASE, '--operation', 'initiate')).code).toBe(0);
  cut = join(dir, 'cut.dmp');
  writeFileSync(cut, readFileSync(join(FIXTURES, 'sample-x64.dmp')).subarray(0, 100));
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is. */
async function axe(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const all = await page.evaluate(async () => {
    const run = (window as unknown as { axe: { run(c: Document, o: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[]; failureSummary?: string }[] }[] }> } }).axe.run;
    const r = await run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`) }));
  });
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const indexUrl = async (): Promise<string> => `file://${join(await webRoot(), 'index.html')}`;

describe.each(['light', 'dark'] as const)('axe-core in the %s theme', (colorScheme) => {
  it('the empty page, a decoded region with a member selected, its dialogs and the diff panel', async () => {
    const { page, errors } = await newPage(browser, { colorScheme });
    try {
      await page.goto(await indexUrl());
      expect(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(colorScheme === 'dark');
      expect(await axe(page), 'empty page').toEqual([]);

      // The region's dialog, then the tree with a TCP block's member selected (details, hex).
      await page.setInputFiles('#file-input', SAMPLE);
      await page.waitForSelector('dialog input[name=base]');
      expect(await axe(page), 'region settings dialog').toEqual([]);
      await page.fill('dialog input[name=base]', BASE);
      await page.click('dialog button[value=ok]');
      await page.waitForFunction(() => document.body.dataset.ready === '10');
      await page.selectOption('#operation-select', 'initiate');
      await page.click('#decode-button');
      await page.waitForSelector('#details tr[data-member]');
      const tcp = (await pageState(page)).rows.findIndex((r) => r.layer === 'tcp');
      await page.click(`[role=treeitem] >> text=${(await pageState(page)).rows[tcp]!.address}`);
      await page.click('#details tr[data-member="TCP_OFFLOAD_STATE_CONST.RemotePort"]');
      await page.waitForSelector('#hex .b.in-member');
      expect(await axe(page), 'decoded region').toEqual([]);

      // Go to (Ctrl+G).
      await page.focus('#hex');
      await page.keyboard.press('Control+g');
      await page.waitForSelector('dialog input[name=text]');
      expect(await axe(page), 'Go to dialog').toEqual([]);
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog', { state: 'detached' });

      // The diff panel, with B's hex view.
      await page.setInputFiles('#diff-input', after);
      await page.waitForSelector('dialog input[name=base]');
      await page.fill('dialog input[name=base]', BASE);
      await page.click('dialog button[value=ok]');
      await page.waitForSelector('#diff-hex .b.in-member');
      expect(await axe(page), 'diff panel').toEqual([]);
      // Two hex views on one page: no id twice (axe only asks for a review of that), and each grid's active cell is its own.
      const ids = await page.$$eval('[id]', (els) => els.map((e) => e.id));
      expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
      for (const grid of ['#hex', '#diff-hex']) {
        const active = await page.getAttribute(grid, 'aria-activedescendant');
        if (active) expect(await page.$eval(`#${active}`, (e, g) => e.closest(g) !== null, grid), grid).toBe(true);
      }

      // An error dialog.
      await page.setInputFiles('#file-input', cut);
      await page.waitForSelector('dialog [role=alert]');
      expect(await axe(page), 'error dialog').toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it.each([
    ['a crash dump', ['sample-x64.dmp'], undefined],
    ['a tree with diagnostics', ['broken-cycle.bin'], true],
  ] as const)('%s', async (_, files, region) => {
    const { page, errors } = await newPage(browser, { colorScheme });
    try {
      await page.goto(await indexUrl());
      const doc = region ? (JSON.parse(readFileSync(join(FIXTURES, files[0].replace(/\.bin$/, '.json')), 'utf8')) as { base: string }) : undefined;
      await openFile(page, files.map((f) => join(FIXTURES, f)), doc ? { base: doc.base } : undefined);
      if (region) expect((await pageState(page)).diagnostics.length).toBeGreaterThan(0);
      expect(await axe(page)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

/** What has the focus: its id, else its role and label. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(() => {
    const e = document.activeElement as HTMLElement | null;
    if (!e || e === document.body) return 'body';
    if (e.id) return `#${e.id}`;
    const where = e.closest('[id]')?.id;
    const which = e.dataset.i ?? e.dataset.member ?? e.dataset.target;
    return `${e.getAttribute('role') ?? e.tagName.toLowerCase()}${which !== undefined ? `[${which}]` : ''} in #${where ?? '?'}`;
  });

/** Whether every stop of `want` is in `stops`, in that order. */
const inOrder = (stops: string[], want: string[]): boolean => {
  const at = want.map((w) => stops.indexOf(w));
  return at.every((v, i) => v >= 0 && (i === 0 || v > at[i - 1]!));
};

/** The page's Tab stops, in order: Tab to the end of the page (the focus leaves it), then from its top round to the end again. */
async function tabStops(page: Page): Promise<string[]> {
  for (let i = 0; i < 80 && (await focused(page)) !== 'body'; i++) await page.keyboard.press('Tab');
  const stops: string[] = [];
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (stops.includes(f) || f === 'body') break;
    stops.push(f);
  }
  // The focus left the page for the browser's own controls: give it back.
  await page.bringToFront();
  return stops;
}

/** Presses Tab until the element `selector` names has the focus (a dialog's first stop is its first control). */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    if (await page.$eval(selector, (e) => e === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

describe('the keyboard', () => {
  it('Tab reaches every control and view, a hidden input never; a capture, a diff and Go to open without the mouse', async () => {
    const { page, errors } = await newPage(browser);
    // Playwright turns on catching the file picker when the first listener comes: before the key that opens it, not with it.
    page.on('filechooser', () => {});
    try {
      await page.goto(await indexUrl());
      const empty = await tabStops(page);
      // The toolbar first, then the views, in the page's order (other controls may come between).
      expect(inOrder(empty, ['#file-input', '#root-input', '#operation-select', '#decode-button', '#goto-button', '#diff-button', 'tree in #tree', '#hex'])).toBe(true);
      expect(empty[0]).toBe('#file-input');
      expect(empty).not.toContain('#diff-input');

      // Open… from the keyboard: the file input has the focus (its label shows it) and Space opens the picker.
      await page.focus('#file-input');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Tab');
      expect(await page.$eval('label[for=file-input]', (l) => getComputedStyle(l).outlineStyle)).toBe('solid');
      const [picker] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
      await picker.setFiles(SAMPLE);
      await page.waitForSelector('dialog input[name=base]');
      await tabTo(page, 'dialog input[name=base]');
      await page.keyboard.type(BASE);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.body.dataset.ready === '10');

      // Diff with… from the keyboard.
      await page.waitForFunction(() => document.querySelector('dialog') === null);
      await page.focus('#diff-button');
      expect(await focused(page)).toBe('#diff-button');
      const [second] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
      await second.setFiles(after);
      await page.waitForSelector('dialog input[name=base]');
      await tabTo(page, 'dialog input[name=base]');
      await page.keyboard.type(BASE);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#diff-pane tr[data-i]');

      const stops = await tabStops(page);
      for (const stop of ['#file-input', '#root-input', '#operation-select', '#decode-button', '#goto-button', '#diff-button', 'tree in #tree', '#hex', '#diff-close', '#diff-hex']) expect(stops, stop).toContain(stop);
      expect(stops.filter((s) => s.startsWith('tr[') && s.endsWith('in #diff-pane'))).toEqual(['tr[0] in #diff-pane']);
      // No stop on something hidden from assistive technology (the hex views' scaled scrollbars are aria-hidden: the wheel and the keys scroll).
      expect(stops.filter((s) => s.startsWith('div in'))).toEqual([]);
      // The views come in the page's order: tree, details, hex, then the diff's list and B's bytes.
      expect(inOrder(stops, ['#diff-button', 'tree in #tree', '#hex', '#diff-close', 'tr[0] in #diff-pane', '#diff-hex'])).toBe(true);

      // Go to from the keyboard: Ctrl+G, an offset, Enter.
      await page.focus('#hex');
      await page.keyboard.press('Control+g');
      await page.waitForSelector('dialog input[name=text]');
      await page.keyboard.type('+0x20');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.ndisOffloadInspector.cursor === 0x20);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('screenshots', () => {
  it('saves the main views in both themes (reports/screenshots/), each the page as drawn', async () => {
    const out = resolve(__dirname, '../../reports/screenshots');
    const written = await takeScreenshots(browser, await webRoot(), out);
    expect(written.map((w) => w.name).sort()).toEqual(SHOTS.map((s) => s.name).sort());
    const png = (name: string): Buffer => readFileSync(join(out, name));
    for (const w of written) {
      const b = png(w.name);
      // A PNG of the size asked for.
      expect(b.subarray(1, 4).toString()).toBe('PNG');
      expect([b.readUInt32BE(16), b.readUInt32BE(20)]).toEqual([w.width, w.height]);
    }
    expect(png('inspector-light.png').equals(png('inspector-dark.png'))).toBe(false);
  }, 120_000);
});
