/**
 * Navigating the inspector in Chromium: the tree is the WAI-ARIA tree pattern (levels, set sizes
 * and positions checked item by item against decode --json and the library's member rows, every
 * key of the pattern), the details pane lists what layout and decode say, a member's bytes light up
 * exactly (checked against layout --json), a byte selects its member, pointers are links with a
 * history, Ctrl+G goes to addresses and offsets (and says when the capture holds no such byte),
 * the URL fragment names the selection, and a diagnostic selects its block, member and bytes.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileReader } from '../../src/capture/reader.js';
import type { MemberRow } from '../../src/web/protocol.js';
import { Session } from '../../src/web/worker/session.js';
import { cli, launchChromium, newPage, openFile, pageState, webRoot } from './browser.js';

const FIXTURES = resolve(__dirname, '../../fixtures');
const fixture = (n: string): string => join(FIXTURES, n);
const SAMPLE = { base: '0xffffc70a12340000', abi: 'x64' as const };
const ROW_PX = 22;

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

interface DocBlock {
  address: string;
  offset: number;
  layer: string;
  role: string;
  type: string;
  Status: { name: string };
  dependents: DocBlock[];
}
interface Doc {
  blocks: DocBlock[];
  diagnostics: { severity: string; code: string; path: string; member?: string }[];
}
interface LayoutField {
  name: string;
  offset: number;
  size: number;
  type: string;
  fields?: LayoutField[];
}
interface Layout {
  name: string;
  size: number;
  fields: LayoutField[];
}

async function decodeJson(name: string, region = SAMPLE): Promise<Doc> {
  const r = await cli('decode', fixture(name), '--base', region.base, '--abi', region.abi, '--json');
  return JSON.parse(r.out) as Doc;
}

let layouts: Map<string, Layout>;
async function layoutOf(name: string): Promise<Layout> {
  layouts ??= new Map((JSON.parse((await cli('layout', '--json', '--abi', 'x64')).out) as Layout[]).map((l) => [l.name, l]));
  return layouts.get(name)!;
}

/** Every block of a document in document order, with its parent's index. */
function flatten(doc: Doc): { block: DocBlock; path: string; depth: number; parent: number }[] {
  const out: { block: DocBlock; path: string; depth: number; parent: number }[] = [];
  const walk = (list: DocBlock[], prefix: string, depth: number, parent: number): void =>
    list.forEach((b, i) => {
      const me = out.length;
      out.push({ block: b, path: `${prefix}[${i}]`, depth, parent });
      walk(b.dependents, `${prefix}[${i}].dependents`, depth + 1, me);
    });
  walk(doc.blocks, 'blocks', 0, -1);
  return out;
}

/**
 * The file range of a member from `layout --json` alone: the block structure at the block's
 * offset, a state part at its offset in the combined state structure after it; a padding row
 * (`...padding@N`) runs from N to the next member of its structure.
 */
async function fileRange(blockOffset: number, blockType: string, path: string): Promise<number[]> {
  const [struct, ...names] = path.split('.');
  const blockLayout = await layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST');
  let base = blockOffset;
  if (struct !== 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST') {
    // A combined state type's parts lie at their offsets in it; a single part follows the block.
    const combined = ({ TcpOffloadState: 'TCP_OFFLOAD_STATE', Ip4OffloadState: 'IP4_OFFLOAD_STATE', Ip6OffloadState: 'IP6_OFFLOAD_STATE', NeighborOffloadState: 'NEIGHBOR_OFFLOAD_STATE' } as Record<string, string>)[blockType];
    const part = combined ? (await layoutOf(combined)).fields.find((f) => f.type === struct)! : { offset: 0 };
    base += blockLayout.size + part.offset;
  }
  let fields = (await layoutOf(struct!)).fields;
  let offset = 0;
  let size = (await layoutOf(struct!)).size;
  for (const name of names) {
    const pad = /^padding@(\d+)$/.exec(name);
    if (pad) {
      offset = Number(pad[1]);
      const next = fields.map((f) => f.offset).filter((o) => o > offset);
      size = (next.length ? Math.min(...next) : size) - offset;
      break;
    }
    const f = fields.find((x) => x.name === name)!;
    offset = f.offset;
    size = f.size;
    fields = f.fields ?? [];
  }
  return Array.from({ length: size }, (_, i) => base + offset + i);
}

async function samplePage(name = 'sample-x64.bin', region = SAMPLE): Promise<{ page: Page; errors: string[] }> {
  const p = await newPage(browser);
  await p.page.goto(`file://${join(await webRoot(), 'index.html')}`);
  await openFile(p.page, fixture(name), region);
  return p;
}

interface ActiveItem {
  id: string;
  level: number;
  setsize: number;
  posinset: number;
  expanded: string | null;
  selected: string | null;
  row: number;
  member: string | null;
  text: string;
}

const activeItem = (page: Page): Promise<ActiveItem> =>
  page.evaluate(() => {
    const tree = document.querySelector('[role=tree]')!;
    const id = tree.getAttribute('aria-activedescendant')!;
    const e = document.getElementById(id);
    if (!e) throw new Error(`aria-activedescendant ${id} names no element`);
    return {
      id,
      level: Number(e.getAttribute('aria-level')),
      setsize: Number(e.getAttribute('aria-setsize')),
      posinset: Number(e.getAttribute('aria-posinset')),
      expanded: e.getAttribute('aria-expanded'),
      selected: e.getAttribute('aria-selected'),
      row: Number(e.dataset.row),
      member: e.dataset.member ?? null,
      text: e.textContent ?? '',
    };
  });

/** Scrolls the tree top to bottom so every shown block's members load, until it has `count` items. */
async function settleTree(page: Page, count: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const done = await page.evaluate(() => {
      const host = document.getElementById('tree')!;
      const atEnd = host.scrollTop + host.clientHeight >= host.scrollHeight - 1;
      host.scrollTop += host.clientHeight / 2;
      return atEnd;
    });
    await page.waitForTimeout(60);
    if (done) break;
  }
  await page.waitForFunction((h) => (document.querySelector('#tree .spacer-rows') as HTMLElement).style.height === h, `${count * ROW_PX}px`, { timeout: 10_000 });
  await page.evaluate(() => (document.getElementById('tree')!.scrollTop = 0));
}

async function press(page: Page, key: string, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await page.keyboard.press(key);
  // Key handlers may wait for the Worker; let them and the frame that draws finish.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForTimeout(30);
}

const inMember = (page: Page): Promise<number[]> => page.$$eval('#hex .b.in-member', (cells) => cells.map((c) => Number((c as HTMLElement).dataset.o)).sort((a, b) => a - b));

/** Waits for the hex view to highlight exactly `want` (then checks, for a readable failure). */
async function expectHighlighted(page: Page, want: number[]): Promise<void> {
  await page
    .waitForFunction((w) => {
      const got = [...document.querySelectorAll<HTMLElement>('#hex .b.in-member')].map((c) => Number(c.dataset.o)).sort((a, b) => a - b);
      return got.length === w.length && got.every((o, i) => o === w[i]);
    }, want, { timeout: 5000 })
    .catch(() => undefined);
  expect(await inMember(page)).toEqual(want);
}

/** The sample's members per block, from the library (Session, as the Worker runs it). */
function sampleMembers(name = 'sample-x64.bin', region = SAMPLE): MemberRow[][] {
  const s = new Session(1, openFileReader(fixture(name)), { settings: { kind: 'region', ...region } });
  try {
    s.decode();
    return s.rows.map((_, i) => s.details(i).members);
  } finally {
    s.close();
  }
}

describe('the tree: the WAI-ARIA tree pattern', () => {
  it('gives every item its level, set size and position (against decode --json and the member rows), one tab stop, the active item named', async () => {
    const doc = await decodeJson('sample-x64.bin');
    const blocks = flatten(doc);
    const members = sampleMembers();
    const tops = members.map((m) => m.filter((x) => x.depth === 0));
    // The tree as the pattern wants it: a block, its structures, its dependents (small trees open whole).
    const expected: { level: number; setsize: number; posinset: number; row: number; member: string | null; expanded: string | null }[] = [];
    const walk = (index: number): void => {
      const b = blocks[index]!;
      const p = b.parent;
      const siblings = p < 0 ? doc.blocks.length : tops[p]!.length + blocks[p]!.block.dependents.length;
      const position = (p < 0 ? doc.blocks : blocks[p]!.block.dependents).indexOf(b.block) + 1 + (p < 0 ? 0 : tops[p]!.length);
      expected.push({ level: b.depth + 1, setsize: siblings, posinset: position, row: index, member: null, expanded: 'true' });
      tops[index]!.forEach((m, k) => expected.push({ level: b.depth + 2, setsize: tops[index]!.length + b.block.dependents.length, posinset: k + 1, row: index, member: m.path, expanded: m.struct ? 'false' : null }));
      blocks.forEach((c, i) => c.parent === index && walk(i));
    };
    blocks.forEach((b, i) => b.parent < 0 && walk(i));
    const { page, errors } = await samplePage();
    try {
      await settleTree(page, expected.length);
      const tree = page.locator('[role=tree]');
      expect(await tree.getAttribute('tabindex')).toBe('0');
      expect(await page.locator('[role=treeitem][tabindex]').count()).toBe(0);
      await tree.focus();
      await press(page, 'Home');
      const seen: typeof expected = [];
      for (let i = 0; i < expected.length; i++) {
        const a = await activeItem(page);
        seen.push({ level: a.level, setsize: a.setsize, posinset: a.posinset, row: a.row, member: a.member, expanded: a.expanded });
        // The active item is the selected one (selection follows focus) and tells what it is.
        expect(a.selected).toBe('true');
        if (a.member === null) {
          const b = blocks[a.row]!.block;
          for (const part of [b.layer, b.role, b.type, b.Status.name, b.address]) expect(a.text).toContain(part);
          const sev = doc.diagnostics.filter((d) => d.path === blocks[a.row]!.path).map((d) => d.severity);
          if (sev.includes('error')) expect(a.text).toContain('✖ error');
          else if (sev.includes('warning')) expect(a.text).toContain('▲ warning');
          else if (sev.includes('info')) expect(a.text).toContain('ℹ note');
        }
        await press(page, 'ArrowDown');
      }
      expect(seen).toEqual(expected);
      // The last item stays active past the end; the DOM holds only the items on screen (and the active one).
      expect((await activeItem(page)).row).toBe(expected[expected.length - 1]!.row);
      expect(await page.locator('[role=treeitem]').count()).toBeLessThan(expected.length);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('answers every key of the pattern: Right/Left, Backspace, Home/End, PageUp/PageDown, type-ahead, Shift+Right, Ctrl+Right/Left, Enter', async () => {
    const doc = await decodeJson('sample-x64.bin');
    const blocks = flatten(doc);
    const { page, errors } = await samplePage();
    try {
      const tree = page.locator('[role=tree]');
      await tree.focus();
      await press(page, 'Home');
      expect(await activeItem(page)).toMatchObject({ row: 0, member: null, level: 1, expanded: 'true' });
      // Right on an open block: its first child (the block structure).
      await press(page, 'ArrowRight');
      let a = await activeItem(page);
      expect(a).toMatchObject({ row: 0, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', level: 2, expanded: 'false' });
      // Right opens it; Right again goes to its first member; Left goes back up; Left closes it.
      await press(page, 'ArrowRight');
      expect((await activeItem(page)).expanded).toBe('true');
      await press(page, 'ArrowRight');
      expect(await activeItem(page)).toMatchObject({ member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header', level: 3, expanded: 'false' });
      expect((await pageState(page)).selection).toEqual({ row: 0, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header' });
      await press(page, 'ArrowLeft');
      expect(await activeItem(page)).toMatchObject({ member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', expanded: 'true' });
      await press(page, 'ArrowLeft');
      expect(await activeItem(page)).toMatchObject({ member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', expanded: 'false' });
      // Backspace: the parent block.
      await press(page, 'Backspace');
      expect(await activeItem(page)).toMatchObject({ row: 0, member: null });
      // End: the last item of the tree, the last block's last structure; Home: the first.
      await press(page, 'End');
      a = await activeItem(page);
      expect(a.row).toBe(blocks.length - 1);
      expect(a.member).toBe('TCP_OFFLOAD_STATE_DELEGATED');
      expect(a.posinset).toBe(a.setsize);
      await press(page, 'Home');
      expect((await activeItem(page)).id).toBe('ti-0');
      // PageDown moves by a page of items and keeps the active item drawn; PageUp comes back.
      const perPage = await page.evaluate(() => Math.floor(document.getElementById('tree')!.clientHeight / 22) - 1);
      await press(page, 'PageDown');
      expect((await activeItem(page)).id).toBe(`ti-${perPage}`);
      await press(page, 'PageUp');
      expect((await activeItem(page)).id).toBe('ti-0');
      // Type-ahead: "ip" finds the first path block's... no: items are named by layer first; "path" the first path block.
      await page.keyboard.type('path');
      await press(page, 'Shift');
      expect((await activeItem(page)).row).toBe(blocks.findIndex((b) => b.block.layer === 'path'));
      await page.waitForTimeout(800);
      await page.keyboard.type('tcp');
      await press(page, 'Shift');
      expect((await activeItem(page)).row).toBe(blocks.findIndex((b) => b.block.layer === 'tcp'));
      // A single letter again moves on to the next match.
      await page.waitForTimeout(800);
      await page.keyboard.type('t');
      await press(page, 'Shift');
      a = await activeItem(page);
      expect(blocks[a.row]!.block.layer === 'tcp' || /^TCP_/.test(a.member ?? '')).toBe(true);
      // Ctrl+Left closes everything: the top-level blocks only, the active item on its top-level ancestor.
      await press(page, 'Control+ArrowLeft');
      expect(await page.evaluate(() => (document.querySelector('#tree .spacer-rows') as HTMLElement).style.height)).toBe(`${doc.blocks.length * ROW_PX}px`);
      a = await activeItem(page);
      expect(a).toMatchObject({ level: 1, expanded: 'false' });
      // Shift+Right opens the block and every block under it.
      await press(page, 'Home');
      await press(page, 'Shift+ArrowRight');
      await page.waitForTimeout(200);
      const shown = await page.$$eval('[role=treeitem]', (items) => items.filter((e) => !(e as HTMLElement).dataset.member).map((e) => Number((e as HTMLElement).dataset.row)));
      const under = blocks.map((b, i) => [b, i] as const).filter(([b]) => b.path.startsWith('blocks[0]')).map(([, i]) => i);
      for (const i of under) expect(shown).toContain(i);
      // Ctrl+Right opens every block again.
      await press(page, 'Control+ArrowRight');
      await page.waitForTimeout(200);
      const rowsShown = await page.$$eval('[role=treeitem]', (items) => new Set(items.map((e) => Number((e as HTMLElement).dataset.row))).size);
      expect(rowsShown).toBeGreaterThan(doc.blocks.length);
      // Enter on a closed structure selects it and opens it.
      await press(page, 'Home');
      await press(page, 'ArrowDown');
      await press(page, 'Enter');
      expect(await activeItem(page)).toMatchObject({ member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', expanded: 'true', selected: 'true' });
      // Alt+Left is the history's, not the tree's: the structure stays open.
      await press(page, 'Alt+ArrowLeft');
      expect(await page.locator('[role=treeitem][data-row="0"][data-member="NDIS_MINIPORT_OFFLOAD_BLOCK_LIST"]').getAttribute('aria-expanded')).toBe('true');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('details and bytes', () => {
  it('lists every member of a TCP block as the library and layout --json give it, and highlights exactly its bytes', async () => {
    const doc = await decodeJson('sample-x64.bin');
    const blocks = flatten(doc);
    const members = sampleMembers();
    const row = blocks.findIndex((b) => b.path === 'blocks[0].dependents[0].dependents[1]');
    const block = blocks[row]!.block;
    const { page, errors } = await samplePage();
    try {
      await page.evaluate((r) => (location.hash = `#blocks[0].dependents[0].dependents[1]`), row);
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, row);
      await page.waitForSelector(`#details tr[data-member="TCP_OFFLOAD_STATE_DELEGATED.State"]`);
      const table = await page.$$eval('#details tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '').concat((tr as HTMLElement).dataset.member ?? '')));
      const want = members[row]!;
      expect(table.map((r) => r[7])).toEqual(want.map((m) => m.path));
      const blockLayout = await layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST');
      for (const [i, m] of want.entries()) {
        const [name, offset, size, ctype, raw, value, meaning] = table[i]!;
        expect(name).toBe(m.name);
        expect(Number(size)).toBe(m.size);
        expect(ctype).toBe(m.ctype);
        expect(raw).toBe(m.raw);
        expect(value).toBe(m.value);
        expect(meaning).toContain(m.meaning.replace(/^→ /, ''));
        expect(offset!.startsWith(`+0x${m.offset.toString(16)}`)).toBe(true);
        if (m.bitWidth !== undefined) expect(offset).toContain(`bits ${m.bitOffset}..${m.bitOffset! + m.bitWidth - 1} (width ${m.bitWidth})`);
        // The block structure's members at layout --json's offsets.
        if (m.depth === 1 && m.path.startsWith('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.') && !m.padding) expect(m.offset).toBe(blockLayout.fields.find((f) => f.name === m.name)!.offset);
      }
      const rowOf = (p: string): string[] => table.find((r) => r[7] === p)!;
      expect(rowOf('TCP_OFFLOAD_STATE_DELEGATED.State')[6]).toBe('TcpConnectionEstablished');
      expect(rowOf('TCP_OFFLOAD_STATE_CONST.RemotePort').slice(4, 7)).toEqual(['0d3d', '15629', '3389 in host order (stored 0x3d0d read little-endian)']);
      expect(rowOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status')[6]).toBe(block.Status.name);
      expect(rowOf('TCP_OFFLOAD_STATE_CONST.Flags')[6]).toBe('TCP_FLAG_TIMESTAMP_ENABLED | TCP_FLAG_SACK_ENABLED | TCP_FLAG_WINDOW_SCALING_ENABLED');
      // Clicking members in the details pane lights exactly their bytes (from layout --json).
      for (const path of ['TCP_OFFLOAD_STATE_CONST.RemotePort', 'TCP_OFFLOAD_STATE_DELEGATED.State', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock', 'TCP_OFFLOAD_STATE_DELEGATED.KeepAlive', 'TCP_OFFLOAD_STATE_CONST.padding@15', 'TCP_OFFLOAD_STATE_CONST', 'TCP_OFFLOAD_STATE_CACHED.FlowLabel']) {
        await page.click(`#details tr[data-member="${path}"] td:first-child`);
        await page.waitForFunction((p) => window.ndisOffloadInspector.selection?.member === p, path);
        await expectHighlighted(page, await fileRange(block.offset, block.type, path));
        expect(await page.getAttribute('#details tr.selected', 'data-member')).toBe(path);
      }
      // Clicking a member in the tree does the same, and the tree marks it selected.
      await page.locator('[role=treeitem][data-member="TCP_OFFLOAD_STATE_CONST"]').click();
      await page.locator('[role=treeitem][data-member="TCP_OFFLOAD_STATE_CONST"]').press('ArrowRight');
      await page.locator('[role=treeitem][data-member="TCP_OFFLOAD_STATE_CONST.LocalPort"]').click();
      await expectHighlighted(page, await fileRange(block.offset, block.type, 'TCP_OFFLOAD_STATE_CONST.LocalPort'));
      expect(await page.getAttribute('[role=treeitem][aria-selected=true]', 'data-member')).toBe('TCP_OFFLOAD_STATE_CONST.LocalPort');
      // Clicking a byte selects its member in the tree and the details.
      const [first] = await fileRange(block.offset, block.type, 'TCP_OFFLOAD_STATE_DELEGATED.SndWnd');
      await page.click(`#hex .b[data-o="${first! + 2}"]`);
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'TCP_OFFLOAD_STATE_DELEGATED.SndWnd');
      expect((await pageState(page)).selection).toMatchObject({ row, member: 'TCP_OFFLOAD_STATE_DELEGATED.SndWnd' });
      await page.waitForSelector('#details tr.selected[data-member="TCP_OFFLOAD_STATE_DELEGATED.SndWnd"]');
      await page.waitForSelector('[role=treeitem][aria-selected=true][data-member="TCP_OFFLOAD_STATE_DELEGATED.SndWnd"]');
      await expectHighlighted(page, await fileRange(block.offset, block.type, 'TCP_OFFLOAD_STATE_DELEGATED.SndWnd'));
      // A padding byte selects that padding alone.
      const pad = await fileRange(block.offset, block.type, 'TCP_OFFLOAD_STATE_CACHED.padding@21');
      await page.click(`#hex .b[data-o="${pad[1]}"]`);
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'TCP_OFFLOAD_STATE_CACHED.padding@21');
      await expectHighlighted(page, pad);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the details pane from the keyboard', () => {
  it('has one tab stop; Up/Down/Home/End select members; Enter follows a pointer and the focus stays in the pane', async () => {
    const members = sampleMembers()[0]!;
    const { page, errors } = await samplePage();
    try {
      await page.waitForSelector('#details tbody tr');
      expect(await page.locator('#details tbody tr[tabindex="0"]').count()).toBe(1);
      await page.locator('#details tbody tr[tabindex="0"]').focus();
      await page.keyboard.press('Home');
      await page.waitForFunction((m) => window.ndisOffloadInspector.selection?.member === m, members[0]!.path);
      for (const m of members.slice(1, 4)) {
        await page.keyboard.press('ArrowDown');
        await page.waitForFunction((p) => window.ndisOffloadInspector.selection?.member === p && (document.activeElement as HTMLElement).dataset.member === p, m.path);
      }
      expect(await page.locator('#details tbody tr[tabindex="0"]').count()).toBe(1);
      await page.keyboard.press('End');
      await page.waitForFunction((m) => window.ndisOffloadInspector.selection?.member === m, members[members.length - 1]!.path);
      // To NextBlock, and Enter on its row follows it: the next block, focus on its table's first row.
      const next = members.findIndex((m) => m.name === 'NextBlock');
      await page.keyboard.press('Home');
      for (let i = 0; i < next; i++) await page.keyboard.press('ArrowDown');
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock');
      await page.keyboard.press('Enter');
      const state = await pageState(page);
      const blocks1 = state.rows.findIndex((r) => r.path === 'blocks[1]');
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, blocks1);
      await page.waitForSelector('#details h2:has-text("blocks[1] ")');
      await page.waitForFunction(() => document.getElementById('details')!.contains(document.activeElement) && (document.activeElement as HTMLElement).tagName === 'TR');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('pointers, history, Ctrl+G and the fragment', () => {
  it('follows NextBlock, DependentBlockList, MiniportOffloadContext and SourceAddress; Alt+Left/Right walk the history', async () => {
    const doc = await decodeJson('sample-x64.bin');
    const blocks = flatten(doc);
    const rowOf = (path: string): number => blocks.findIndex((b) => b.path === path);
    const { page, errors } = await samplePage();
    try {
      await page.waitForSelector('#details tr[data-member="NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock"] [data-target]');
      await page.click('#details tr[data-member="NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock"] [data-target]');
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, rowOf('blocks[1]'));
      await page.waitForSelector('#details h2:has-text("blocks[1]")');
      await page.click('#details tr[data-member="NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.DependentBlockList"] [data-target]');
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, rowOf('blocks[1].dependents[0]'));
      // The block followed to is the tree's active item.
      await page.waitForFunction((r) => {
        const t = document.querySelector('[role=tree]')!;
        return document.getElementById(t.getAttribute('aria-activedescendant')!)?.dataset.row === String(r);
      }, rowOf('blocks[1].dependents[0]'));
      // Back twice, forward once.
      await page.keyboard.press('Alt+ArrowLeft');
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, rowOf('blocks[1]'));
      await page.keyboard.press('Alt+ArrowLeft');
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.row === 0);
      await page.keyboard.press('Alt+ArrowRight');
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, rowOf('blocks[1]'));
      // A context pointer: to its bytes (the file offset the capture gives the address).
      const ctx = doc.blocks[1]!;
      const ctxAddress = (ctx as unknown as Record<string, string>).MiniportOffloadContext!;
      await page.waitForSelector('#details h2:has-text("blocks[1] ")');
      await page.click('#details tr[data-member="NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.MiniportOffloadContext"] [data-target]');
      const ctxOffset = Number(BigInt(ctxAddress) - BigInt(SAMPLE.base));
      await page.waitForFunction((o) => window.ndisOffloadInspector.cursor === o, ctxOffset);
      expect(await page.locator('#hex .b.cursor').first().getAttribute('data-o')).toBe(String(ctxOffset));
      // An IPv4 path's SourceAddress: the four bytes of the address (192.168.1.20 in the sample).
      await page.evaluate(() => (location.hash = '#blocks[0].dependents[0]'));
      await page.waitForSelector('#details h2:has-text("blocks[0].dependents[0] ")');
      await page.click('#details tr[data-member="PATH_OFFLOAD_STATE_CONST.SourceAddress"] [data-target]');
      const path = doc.blocks[0]!.dependents[0]! as unknown as { state: { PATH_OFFLOAD_STATE_CONST: Record<string, string> } };
      const srcOffset = Number(BigInt(path.state.PATH_OFFLOAD_STATE_CONST.SourceAddress!) - BigInt(SAMPLE.base));
      await page.waitForFunction((o) => window.ndisOffloadInspector.cursor === o, srcOffset);
      const bytes = readFileSync(fixture('sample-x64.bin')).subarray(srcOffset, srcOffset + 4);
      expect([...bytes].join('.')).toBe(path.state.PATH_OFFLOAD_STATE_CONST['*SourceAddress']);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('Ctrl+G goes to an address or +offset, selecting what owns the byte; an address the capture does not hold is an error', async () => {
    const doc = await decodeJson('sample-x64.bin');
    const blocks = flatten(doc);
    const { page, errors } = await samplePage();
    const goTo = async (text: string): Promise<void> => {
      await page.keyboard.press('Control+g');
      await page.fill('dialog input[name=text]', text);
      await page.press('dialog input[name=text]', 'Enter');
    };
    try {
      await page.locator('[role=tree]').focus();
      const target = blocks.findIndex((b) => b.path === 'blocks[1].dependents[0]');
      await goTo(blocks[target]!.block.address);
      await page.waitForFunction((r) => window.ndisOffloadInspector.selection?.row === r, target);
      // +offset: the byte 10 into the second TCP block's const state is RemotePort's first.
      const tcp = blocks.findIndex((b) => b.path === 'blocks[0].dependents[0].dependents[1]');
      const [remote] = await fileRange(blocks[tcp]!.block.offset, 'TcpOffloadState', 'TCP_OFFLOAD_STATE_CONST.RemotePort');
      await goTo(`+0x${remote!.toString(16)}`);
      await page.waitForFunction((o) => window.ndisOffloadInspector.cursor === o, remote);
      expect((await pageState(page)).selection).toEqual({ row: tcp, member: 'TCP_OFFLOAD_STATE_CONST.RemotePort' });
      await goTo(`+${remote! + 1}`);
      await page.waitForFunction((o) => window.ndisOffloadInspector.cursor === o, remote! + 1);
      // Nothing at this address: an error, shown; the selection stays.
      await goTo('0xffffc70a00000000');
      const alert = page.locator('dialog [role=alert]');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('0xffffc70a00000000: the capture holds no byte at this address');
      await page.click('dialog button[value=ok]');
      expect((await pageState(page)).selection).toEqual({ row: tcp, member: 'TCP_OFFLOAD_STATE_CONST.RemotePort' });
      await goTo('not-an-address');
      await alert.waitFor();
      expect(await alert.textContent()).toContain("'0xnot-an-address' is not a hexadecimal address");
      await page.click('dialog button[value=ok]');
      await goTo('+999999');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('+999999: not an offset in the file');
      await page.click('dialog button[value=ok]');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('names the selection in the URL fragment: reloading with it (and the file) restores it; hashchange selects', async () => {
    const { page, errors } = await samplePage();
    try {
      await page.click('#details tr[data-member="NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.DependentBlockList"] [data-target]');
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.row === 1);
      await page.waitForSelector('#details h2:has-text("blocks[0].dependents[0] ")');
      await page.click('#details tr[data-member="PATH_OFFLOAD_STATE_CACHED.PathMtu"] td:first-child');
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'PATH_OFFLOAD_STATE_CACHED.PathMtu');
      const url = page.url();
      expect(decodeURIComponent(new URL(url).hash)).toBe('#blocks[0].dependents[0]/PATH_OFFLOAD_STATE_CACHED.PathMtu');
      await page.goto('about:blank');
      await page.goto(url);
      await openFile(page, fixture('sample-x64.bin'), SAMPLE);
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'PATH_OFFLOAD_STATE_CACHED.PathMtu');
      expect((await pageState(page)).selection).toEqual({ row: 1, member: 'PATH_OFFLOAD_STATE_CACHED.PathMtu' });
      await page.waitForSelector('#details tr.selected[data-member="PATH_OFFLOAD_STATE_CACHED.PathMtu"]');
      await page.waitForSelector('[role=treeitem][aria-selected=true][data-member="PATH_OFFLOAD_STATE_CACHED.PathMtu"]');
      // Changing the fragment selects.
      await page.evaluate(() => (location.hash = '#blocks[1]/NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status'));
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status');
      expect((await pageState(page)).selection?.row).toBe((await pageState(page)).rows.findIndex((r) => r.path === 'blocks[1]'));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the diagnostics list', () => {
  it('selects a diagnostic\'s block and member and shows its bytes, by click and by Enter', async () => {
    const region = { base: '0xffffc70a40000000', abi: 'x64' as const };
    const doc = await decodeJson('broken-cycle.bin', region);
    const blocks = flatten(doc);
    const cycle = doc.diagnostics.findIndex((d) => d.code === 'CYCLE');
    const d = doc.diagnostics[cycle]!;
    // The block the cycle would have added is not in the tree: the diagnostic concerns the pointer
    // leading to it, the previous sibling's NextBlock (the member it names).
    expect(blocks.findIndex((b) => b.path === d.path)).toBe(-1);
    const m = /^(.*)\[(\d+)\]$/.exec(d.path)!;
    const row = blocks.findIndex((b) => b.path === `${m[1]}[${Number(m[2]) - 1}]`);
    expect(row).toBeGreaterThanOrEqual(0);
    expect(d.member).toBe('NextBlock');
    const { page, errors } = await samplePage('broken-cycle.bin', region);
    try {
      const item = page.locator(`#diagnostics tr[data-i="${cycle}"]`);
      expect(await item.textContent()).toContain('✖ error');
      await item.click();
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock');
      expect((await pageState(page)).selection).toEqual({ row, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock' });
      // Its bytes hold the address of the block it leads back to.
      const stored = readFileSync(fixture('broken-cycle.bin')).readBigUInt64LE(blocks[row]!.block.offset + 8);
      expect(`0x${stored.toString(16)}`).toBe((blocks[row]!.block as unknown as { NextBlock: string }).NextBlock);
      const want = await fileRange(blocks[row]!.block.offset, blocks[row]!.block.type, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock');
      await expectHighlighted(page, want);
      // The block's tree item names the error in words.
      await page.waitForSelector(`[role=treeitem][data-row="${row}"]:not([data-member])`);
      expect(await page.locator(`[role=treeitem][data-row="${row}"]:not([data-member])`).textContent()).toContain('✖ error');
      // The keyboard: one tab stop, arrows move, Enter picks.
      await page.evaluate(() => (location.hash = '#blocks[0]'));
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.row === 0 && !window.ndisOffloadInspector.selection?.member);
      expect(await page.locator('#diagnostics tr[tabindex="0"]').count()).toBe(1);
      await page.locator('#diagnostics tr[tabindex="0"]').focus();
      await page.keyboard.press('Home');
      for (let i = 0; i < cycle; i++) await page.keyboard.press('ArrowDown');
      expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.i)).toBe(String(cycle));
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.ndisOffloadInspector.selection?.member === 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock');
      await expectHighlighted(page, want);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a state member\'s diagnostic selects that member of the state part and its bytes', async () => {
    // The NDIS 6.0 fixture read as 6.1 (the CLI's and the page's default): the delegated state's Length is wrong.
    const region = { base: '0xffffc70a24000000', abi: 'x64' as const };
    const doc = await decodeJson('every-state-type-ndis60-x64.bin', region);
    const blocks = flatten(doc);
    const i = doc.diagnostics.findIndex((d) => d.code === 'STATE_LENGTH_MISMATCH');
    expect(i).toBeGreaterThanOrEqual(0);
    const d = doc.diagnostics[i]!;
    expect(d.member).toBe('TCP_OFFLOAD_STATE_DELEGATED.Header.Length');
    const row = blocks.findIndex((b) => b.path === d.path);
    const { page, errors } = await samplePage('every-state-type-ndis60-x64.bin', region);
    try {
      await page.locator(`#diagnostics tr[data-i="${i}"]`).click();
      await page.waitForFunction((m) => window.ndisOffloadInspector.selection?.member === m, d.member);
      expect((await pageState(page)).selection).toEqual({ row, member: d.member });
      await expectHighlighted(page, await fileRange(blocks[row]!.block.offset, blocks[row]!.block.type, d.member!));
      await page.waitForSelector('[role=treeitem][aria-selected=true][data-member="TCP_OFFLOAD_STATE_DELEGATED.Header.Length"]');
      expect(await page.locator('[role=treeitem][aria-selected=true]').textContent()).toContain('▲ warning');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
