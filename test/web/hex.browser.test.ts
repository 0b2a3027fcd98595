/**
 * The hex view in Chromium: bytes marked by what owns them (the selected member and block,
 * padding, bytes no block owns) and not by colour alone, every byte naming its owner (title and
 * status line), a click selecting the member, the keyboard moving the cursor in a one-tab-stop
 * grid, and the whole of a 2 GiB dump reachable through a scaled scrollbar with a DOM of one
 * screen.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSparseDump } from '../../bench/web.js';
import { bufferReader } from '../../src/capture/reader.js';
import { layoutOf } from '../../src/layout/registry.js';
import { Session } from '../../src/web/worker/session.js';
import { CHROMIUM, CHROMIUM_ARGS, chromiumTool, newPage, openFile, pageState, webRoot } from './browser.js';

const SAMPLE = resolve(__dirname, '../../fixtures/sample-x64.bin');
const SAMPLE_BASE = '0xffffc70a12340000';
const LARGE = resolve(__dirname, '../../fixtures/large-x64.bin');
const BLOCK = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST');
const field = (name: string): { offset: number; size: number } => {
  const f = BLOCK.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no member ${name}`);
  return f;
};
const hexOffset = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

let browser: Browser;
let dir: string;
let dump: { file: string; size: number };
beforeAll(async () => {
  chromiumTool.require();
  // Scrollbars drawn (Playwright hides them by default), so that the test can drag the hex view's.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--hide-scrollbars'] });
  dir = mkdtempSync(join(tmpdir(), 'ndis-hex-'));
  const file = join(dir, 'machine-2g.dmp');
  dump = { file, size: writeSparseDump(file).size };
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function opened(path: string, region?: { base: string }): Promise<{ page: Page; errors: string[] }> {
  const p = await newPage(browser);
  await p.page.goto(`file://${join(await webRoot(), 'index.html')}`);
  await openFile(p.page, path, region);
  return p;
}

/** File offsets of the hex cells with a class, in order. */
const cellsWith = (page: Page, cls: string): Promise<number[]> =>
  page.$$eval(`#hex .b.${cls}`, (cells) => cells.map((c) => Number((c as HTMLElement).dataset.o)));

const status = (page: Page): Promise<string> => page.$eval('#status', (e) => e.textContent ?? '');
const addresses = (page: Page): Promise<string[]> => page.$$eval('#hex .addr', (cells) => cells.map((c) => c.textContent ?? ''));

describe('the hex view of a region', () => {
  it('a click on a byte selects its member; exactly the member bytes are marked, the rest of the block underlined', async () => {
    const { page, errors } = await opened(SAMPLE, { base: SAMPLE_BASE });
    try {
      const st = field('Status');
      await page.click(`#hex .b[data-o="${st.offset + 1}"]`);
      await page.waitForFunction((n) => document.querySelectorAll('#hex .b.in-member').length === n, st.size);
      expect((await pageState(page)).selection).toEqual({ row: 0, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status' });
      expect(await cellsWith(page, 'in-member')).toEqual(range(st.offset, st.size));
      // The selected member's cells are bold and outlined, the block's underlined: marks a colour-blind reader sees.
      const look = await page.$eval(`#hex .b.in-member`, (c) => ({ weight: getComputedStyle(c).fontWeight, outline: getComputedStyle(c).outlineStyle }));
      expect(look.weight).toBe('700');
      expect(look.outline).not.toBe('none');
      expect(await page.$eval('#hex .b.in-block', (c) => getComputedStyle(c).boxShadow)).toContain('inset');
      // The block's other members are in-block (padding keeps its own mark), up to the block's end.
      const inBlock = await cellsWith(page, 'in-block');
      expect(inBlock.length).toBeGreaterThan(0);
      expect(Math.max(...inBlock)).toBeLessThan(BLOCK.size);
      expect([...inBlock, ...(await cellsWith(page, 'in-member'))].sort((a, b) => a - b)).toEqual(range(0, BLOCK.size));
      // The second block's NextBlock: a member of another row.
      const rows = (await pageState(page)).rows;
      const next = field('NextBlock');
      await page.click(`#hex .b[data-o="${rows[1]!.offset! + next.offset}"]`);
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.row === 1);
      expect((await pageState(page)).selection).toEqual({ row: 1, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock' });
      await page.waitForFunction((n) => document.querySelectorAll('#hex .b.in-member').length === n, next.size);
      expect(await cellsWith(page, 'in-member')).toEqual(range(rows[1]!.offset! + next.offset, next.size));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('every byte names its owner in its title and, on hover, in the status line; padding and unowned bytes say so', async () => {
    const { page, errors } = await opened(SAMPLE, { base: SAMPLE_BASE });
    try {
      const st = field('Status');
      const title = (o: number): Promise<string | null> => page.getAttribute(`#hex .b[data-o="${o}"]`, 'title');
      expect(await title(st.offset)).toBe(`${hexOffset(st.offset)} = 0x04: blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status`);
      await page.hover(`#hex .b[data-o="${st.offset + 2}"]`);
      await expect.poll(() => status(page)).toBe(`${hexOffset(st.offset + 2)} = 0x02: blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status`);
      // Header (4 bytes) is followed by 4 bytes of padding before NextBlock on x64.
      const header = field('Header');
      const pad = header.offset + header.size;
      expect(field('NextBlock').offset - pad).toBe(4);
      for (const o of range(pad, 4)) {
        expect(await page.getAttribute(`#hex .b[data-o="${o}"]`, 'class')).toContain('pad');
        expect(await title(o)).toMatch(/^0x0000000[4-7] = 0x00: blocks\[0\] .*padding.* \(padding\)$/);
      }
      expect(await page.$eval('#hex .b.pad', (c) => getComputedStyle(c).textDecorationStyle)).toBe('dotted');
      // A byte no block owns (the neighbor block's unused bytes before the next block), and its title.
      const free = await cellsWith(page, 'free');
      expect(free.length).toBeGreaterThan(0);
      expect(await title(free[0]!)).toMatch(/: not in the tree$/);
      await page.hover(`#hex .b[data-o="${free[0]}"]`);
      await expect.poll(() => status(page)).toMatch(/: not in the tree$/);
      // Every cell on screen has a title naming its offset.
      const titles = await page.$$eval('#hex .b', (cells) => cells.map((c) => ({ o: Number((c as HTMLElement).dataset.o), title: c.getAttribute('title') ?? '' })));
      expect(titles.length).toBeGreaterThan(100);
      for (const { o, title: t } of titles) expect(t.startsWith(`${hexOffset(o)} = 0x`)).toBe(true);
      // A region's rows show the file offset and the virtual address.
      expect((await addresses(page))[1]).toBe(`${hexOffset(16)} 0xffffc70a12340010`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('is one tab stop: arrows, PageDown/Up, Home/End, Ctrl+Home/End move the cursor, the status line says where; Shift marks a range; Enter selects', async () => {
    const { page, errors } = await opened(SAMPLE, { base: SAMPLE_BASE });
    try {
      const size = (await pageState(page)).summary!.size;
      await page.focus('#hex');
      expect(await page.getAttribute('#hex', 'role')).toBe('grid');
      expect(await page.getAttribute('#hex', 'tabindex')).toBe('0');
      expect(await page.$$eval('#hex [tabindex]:not([tabindex="-1"])', (e) => e.length)).toBe(0);
      const cursorIs = async (o: number): Promise<void> => {
        await expect.poll(async () => (await pageState(page)).cursor).toBe(o);
        await expect.poll(() => page.getAttribute('#hex', 'aria-activedescendant')).toBe(`hex-b-${o}`);
        await expect.poll(() => status(page)).toMatch(new RegExp(`^${hexOffset(o)} = 0x[0-9a-f]{2}: `));
      };
      const rowsShown = (await addresses(page)).length;
      await page.keyboard.press('ArrowRight');
      await cursorIs(1);
      await page.keyboard.press('ArrowDown');
      await cursorIs(17);
      await page.keyboard.press('ArrowLeft');
      await cursorIs(16);
      await page.keyboard.press('ArrowUp');
      await cursorIs(0);
      await page.keyboard.press('PageDown');
      await cursorIs(rowsShown * 16);
      await page.keyboard.press('PageUp');
      await cursorIs(0);
      await page.keyboard.press('End');
      await cursorIs(15);
      await page.keyboard.press('Home');
      await cursorIs(0);
      await page.keyboard.press('Control+End');
      await cursorIs(size - 1);
      const last = Math.floor((size - 1) / 16) * 16;
      await expect.poll(async () => (await addresses(page)).at(-1)).toMatch(new RegExp(`^${hexOffset(last)} `));
      await page.keyboard.press('Control+Home');
      await cursorIs(0);
      expect((await addresses(page))[0]).toMatch(/^0x00000000 /);
      // The status line names the member path of the byte under the cursor.
      const st = field('Status');
      for (let i = 0; i < st.offset; i++) await page.keyboard.press('ArrowRight');
      await cursorIs(st.offset);
      expect(await status(page)).toBe(`${hexOffset(st.offset)} = 0x04: blocks[0] NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status`);
      // Shift+arrows mark a range from where the cursor was; Escape clears it.
      for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowRight');
      await expect.poll(() => cellsWith(page, 'range')).toEqual(range(st.offset, 4));
      expect(await status(page)).toBe(`${hexOffset(st.offset)}..${hexOffset(st.offset + 3)}: 4 bytes marked (Esc clears)`);
      await page.keyboard.press('Escape');
      await expect.poll(() => cellsWith(page, 'range')).toEqual([]);
      // Enter selects the member under the cursor.
      await page.keyboard.press('Enter');
      await expect.poll(async () => (await pageState(page)).selection).toEqual({ row: 0, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status' });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('Ctrl+F', () => {
  it('finds hex bytes from the cursor, F3 and Shift+F3 walk the matches, text is found too, and a missing pattern is said', async () => {
    const bytes = new Uint8Array(readFileSync(SAMPLE));
    const pattern = [0x34, 0x12, 0x0a, 0xc7, 0xff, 0xff];
    const matches: number[] = [];
    for (let i = 0; i + pattern.length <= bytes.length; i++) if (pattern.every((b, k) => bytes[i + k] === b)) matches.push(i);
    expect(matches.length).toBeGreaterThan(3);
    const { page, errors } = await opened(SAMPLE, { base: SAMPLE_BASE });
    try {
      const find = async (text: string): Promise<void> => {
        await page.focus('#hex');
        await page.keyboard.press('Control+f');
        await page.waitForSelector('dialog input[name=text]');
        await page.fill('dialog input[name=text]', text);
        await page.click('dialog button[value=ok]');
      };
      const at = async (o: number): Promise<void> => {
        await expect.poll(async () => (await pageState(page)).cursor).toBe(o);
        await expect.poll(() => cellsWith(page, 'range')).toEqual(range(o, pattern.length));
        expect(await status(page)).toBe(`34 12 0a c7 ff ff found at ${hexOffset(o)} (F3 next, Shift+F3 previous)`);
      };
      await find('34 12 0a c7 ff ff');
      await at(matches[0]!);
      await page.keyboard.press('F3');
      await at(matches[1]!);
      await page.keyboard.press('F3');
      await at(matches[2]!);
      await page.keyboard.press('Shift+F3');
      await at(matches[1]!);
      // The last match, then no later one: the cursor stays.
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Shift+F3');
      await at(matches.at(-1)!);
      await page.keyboard.press('F3');
      await expect.poll(() => status(page)).toBe(`34 12 0a c7 ff ff: no later match after ${hexOffset(matches.at(-1)! + 1)}`);
      expect((await pageState(page)).cursor).toBe(matches.at(-1));
      // 0x-prefixed and run together is the same pattern.
      await page.keyboard.press('Control+Home');
      await find('0x34120ac7ffff');
      await at(matches[0]!);
      // Text: quoted, as UTF-8 bytes. The sample holds no "NDIS".
      const text = 'NDIS';
      expect(Buffer.from(bytes).indexOf(text)).toBe(-1);
      await find(`"${text}"`);
      await expect.poll(() => status(page)).toMatch(/^"NDIS": no later match after 0x/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('bit-fields', () => {
  it('a byte shared by bit-fields names each of them, and is marked when either is selected', async () => {
    const doc = JSON.parse(readFileSync(LARGE.replace(/\.bin$/, '.json'), 'utf8')) as { base: string; abi: 'x64' | 'x86'; root: string };
    // Where two members share a byte, from the Worker's Session run here.
    const session = new Session(1, bufferReader(new Uint8Array(readFileSync(LARGE))), { settings: { kind: 'region', base: doc.base, abi: doc.abi } });
    session.decode(doc.root);
    const spans = session.bytes(0, 4096).spans;
    const i = spans.findIndex((s, k) => k > 0 && s.offset === spans[k - 1]!.offset && s.row === spans[k - 1]!.row);
    const [a, b] = [spans[i - 1]!, spans[i]!];
    expect([a.label, b.label]).toEqual(['TCP_OFFLOAD_STATE_CONST.SndWindScale', 'TCP_OFFLOAD_STATE_CONST.RcvWindScale']);
    const { page, errors } = await opened(LARGE, { base: doc.base });
    try {
      const path = session.rows[a.row]!.path;
      await page.evaluate((h) => {
        location.hash = h;
      }, `#${path}/${b.label}`);
      await expect.poll(async () => (await pageState(page)).selection).toEqual({ row: a.row, member: b.label });
      await expect.poll(() => cellsWith(page, 'in-member')).toEqual([a.offset]);
      const title = await page.getAttribute(`#hex .b[data-o="${a.offset}"]`, 'title');
      expect(title).toMatch(/^0x[0-9a-f]{8} = 0x[0-9a-f]{2}: /);
      expect(title!.slice(title!.indexOf(': ') + 2)).toBe(`${path} TCP_OFFLOAD_STATE_CONST.SndWindScale + RcvWindScale`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the hex view of a 2 GiB crash dump', () => {
  it('reaches the last row through the scaled scrollbar and Ctrl+End, and back, with one screen of DOM', async () => {
    const { page, errors } = await opened(dump.file);
    try {
      expect((await pageState(page)).summary!.size).toBe(dump.size);
      const lastRow = Math.floor((dump.size - 1) / 16) * 16;
      // The bar's content is capped far below the browsers' element height limit.
      const bar = await page.$eval('#hex .scroll', (s) => ({ inner: (s.firstElementChild as HTMLElement).offsetHeight, height: s.clientHeight, max: s.scrollHeight - s.clientHeight }));
      expect(bar.inner).toBe(4_000_000);
      const tallest = await page.evaluate(() => Math.max(...[...document.querySelectorAll('*')].map((e) => (e as HTMLElement).offsetHeight ?? 0)));
      expect(tallest).toBeLessThanOrEqual(4_000_000);
      const domSize = (): Promise<number> => page.$$eval('#hex *', (e) => e.length);
      const atStart = await domSize();
      expect(atStart).toBeLessThan(2500);
      // The bar set to its end: the last row of the file is the last row shown.
      await page.$eval('#hex .scroll', (s) => {
        s.scrollTop = s.scrollHeight;
      });
      await expect.poll(async () => (await addresses(page)).at(-1)).toBe(hexOffset(lastRow));
      expect(await page.$$eval('#hex .b', (cells) => Number((cells.at(-1) as HTMLElement).dataset.o))).toBe(dump.size - 1);
      expect(await domSize()).toBeLessThanOrEqual(atStart + 40);
      // Dragged with the mouse back to the top: the file's first row (the thumb sits above the bar's 15 px arrow button).
      const box = (await page.locator('#hex .scroll').boundingBox())!;
      expect(await page.$eval('#hex .scroll', (s) => s.clientWidth)).toBe(0);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height - 26);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y - 200, { steps: 8 });
      await page.mouse.up();
      await expect.poll(async () => (await addresses(page))[0]).toBe(hexOffset(0));
      // Dragged halfway: a row near the middle of the file.
      await page.mouse.move(box.x + box.width / 2, box.y + 24);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 8 });
      await page.mouse.up();
      await expect.poll(async () => Number((await addresses(page))[0])).toBeGreaterThan(dump.size * 0.3);
      expect(Number((await addresses(page))[0])).toBeLessThan(dump.size * 0.7);
      // The keyboard: Ctrl+End to the file's last byte, Ctrl+Home back to its first.
      await page.focus('#hex');
      await page.keyboard.press('Control+End');
      await expect.poll(async () => (await pageState(page)).cursor).toBe(dump.size - 1);
      await expect.poll(async () => (await addresses(page)).at(-1)).toBe(hexOffset(lastRow));
      await expect.poll(() => status(page)).toMatch(new RegExp(`^${hexOffset(dump.size - 1)} = 0x00: not in the tree$`));
      // The bar followed the keyboard to its end.
      await expect.poll(() => page.$eval('#hex .scroll', (s) => s.scrollHeight - s.clientHeight - s.scrollTop)).toBeLessThanOrEqual(1);
      await page.keyboard.press('PageUp');
      await expect.poll(async () => (await pageState(page)).cursor).toBeLessThan(dump.size - 1 - 16 * 10);
      await page.keyboard.press('Control+Home');
      await expect.poll(async () => (await addresses(page))[0]).toBe(hexOffset(0));
      await expect.poll(() => page.$eval('#hex .scroll', (s) => s.scrollTop)).toBe(0);
      // The wheel moves a row per 18 px.
      await page.mouse.move(box.x - 300, box.y + 100);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      expect((await addresses(page))[0]).toBe(hexOffset(0));
      await page.mouse.wheel(0, 180);
      await expect.poll(async () => (await addresses(page))[0]).toBe(hexOffset(160));
      expect(await domSize()).toBeLessThanOrEqual(atStart + 40);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
