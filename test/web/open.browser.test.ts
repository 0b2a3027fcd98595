/**
 * Opening captures in the inspector, in Chromium: every bundled fixture through the file input,
 * from a file:// page and from the server, gives the tree `decode --json` gives; dumps and other
 * captures need nothing (a scan finds the root, the same as `scan`'s best); hostile files are
 * refused in the page with the CLI's message, and the page stays usable.
 */
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PageState, type RowFields, cli, documentRows, launchChromium, newPage, openFile, pageState, serveInspector, treeReady, webRoot } from './browser.js';

const FIXTURES = resolve(__dirname, '../../fixtures');
const fixture = (n: string): string => join(FIXTURES, n);

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const rowsOf = (s: PageState): RowFields[] => s.rows.map(({ path, depth, layer, role, type, status, address, offset }) => ({ path, depth, layer, role, type, status, address, offset }));

async function filePage(): Promise<{ page: Page; errors: string[] }> {
  const p = await newPage(browser);
  await p.page.goto(`file://${join(await webRoot(), 'index.html')}`);
  return p;
}

/** Every region fixture with its document (which names its base and ABI). */
const regionFixtures = readdirSync(FIXTURES)
  .filter((n) => n.endsWith('.bin') && readdirSync(FIXTURES).includes(n.replace(/\.bin$/, '.json')))
  .sort();

describe('regions, from a file:// page', () => {
  it.each(regionFixtures)('%s: the tree and diagnostics of decode --json', async (name) => {
    const doc = JSON.parse(readFileSync(fixture(name.replace(/\.bin$/, '.json')), 'utf8')) as { base: string; abi: 'x64' | 'x86'; root: string };
    const { page, errors } = await filePage();
    try {
      const count = await openFile(page, fixture(name), { base: doc.base, abi: doc.abi });
      const expected = await cli('decode', fixture(name), '--base', doc.base, '--abi', doc.abi, '--json');
      const want = JSON.parse(expected.out);
      const state = await pageState(page);
      expect(count).toBe(state.rows.length);
      expect(rowsOf(state)).toEqual(documentRows(want));
      expect(state.diagnostics.map((d) => [d.severity, d.code, d.path, d.member ?? null])).toEqual(
        (want.diagnostics as { severity: string; code: string; path: string; member?: string }[]).map((d) => [d.severity, d.code, d.path, d.member ?? null]),
      );
      expect(state.summary?.writable).toBe(true);
      // The tree's first item is on screen with the ARIA tree's attributes.
      const first = page.locator('[role=treeitem]').first();
      expect(await first.getAttribute('aria-level')).toBe('1');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

/** Captures that say what they are: the page scans for the root, as `scan` does, and decodes it. (Every bundled capture is here: a test below checks.) */
const captures: [string, string[]][] = [
  ['sample-x64.dmp', ['sample-x64.dmp']],
  ['initiate-x86-pae.dmp', ['initiate-x86-pae.dmp']],
  ['sample-x64.lime', ['sample-x64.lime']],
  ['sample-x64.core', ['sample-x64.core']],
  ['sample-x64.vmem with its .vmss', ['sample-x64.vmem', 'sample-x64.vmss']],
];

describe('captures that need nothing', () => {
  it.each(captures)('%s: scan finds the root the CLI finds, and the tree is decode --json', async (_, files) => {
    const { page, errors } = await filePage();
    try {
      await openFile(page, files.map(fixture));
      const state = await pageState(page);
      const scan = await cli('scan', fixture(files[0]!), '--json');
      expect(scan.code).toBe(0);
      const best = (JSON.parse(scan.out) as { candidates: { address: string }[] }).candidates[0]!.address;
      expect(state.rows[0]!.address).toBe(best);
      const want = JSON.parse((await cli('decode', fixture(files[0]!), '--root', best, '--json')).out);
      expect(rowsOf(state)).toEqual(documentRows(want));
      expect(state.summary?.writable).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

it('every bundled fixture is opened by a test of this file', () => {
  const opened = new Set([...regionFixtures, ...captures.flatMap(([, files]) => files)]);
  const documents = readdirSync(FIXTURES).filter((n) => n.endsWith('.json'));
  expect(readdirSync(FIXTURES).filter((n) => !opened.has(n) && !documents.includes(n))).toEqual([]);
});

describe('served by ndis-offload serve', () => {
  it('opens the named dump over HTTP range requests, with the same tree', async () => {
    const server = await serveInspector([{ path: fixture('sample-x64.dmp') }]);
    const { page, errors } = await newPage(browser);
    try {
      await page.goto(server.url);
      await treeReady(page);
      const state = await pageState(page);
      const want = JSON.parse((await cli('decode', fixture('sample-x64.dmp'), '--root', state.rows[0]!.address, '--json')).out);
      expect(rowsOf(state)).toEqual(documentRows(want));
      expect(state.summary?.name).toBe('sample-x64.dmp');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });

  it('opens a region with the base given on the command line', async () => {
    const server = await serveInspector([{ path: fixture('sample-x64.bin'), settings: { kind: 'region', base: '0xffffc70a12340000', abi: 'x64' } }]);
    const { page } = await newPage(browser);
    try {
      await page.goto(server.url);
      expect(await treeReady(page)).toBe(10);
    } finally {
      await page.close();
      await server.close();
    }
  });
});

describe('hostile files', () => {
  it('shows the CLI\'s error for a truncated dump and stays usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndis-web-'));
    const cut = join(dir, 'cut.dmp');
    writeFileSync(cut, readFileSync(fixture('sample-x64.dmp')).subarray(0, 100));
    const cliError = await cli('info', cut);
    expect(cliError.code).toBe(3);
    const { page, errors } = await filePage();
    try {
      await page.setInputFiles('#file-input', cut);
      const alert = page.locator('dialog [role=alert]');
      await alert.waitFor();
      const text = (await alert.textContent()) ?? '';
      // The page names the same problem as the CLI (without the CLI's "error: " prefix and path).
      expect(cliError.err).toContain('not a complete crash dump header');
      expect(text).toContain('not a complete crash dump header');
      await page.click('dialog button[value=ok]');
      expect(await openFile(page, fixture('sample-x64.bin'), { base: '0xffffc70a12340000' })).toBe(10);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('what the page remembers', () => {
  it("a region's base and ABI, per file name, offered the next time it is opened", async () => {
    const { page, errors } = await filePage();
    try {
      expect(await openFile(page, fixture('initiate-x86.bin'), { base: '0x8a400000', abi: 'x86' })).toBeGreaterThan(0);
      await page.evaluate(() => delete document.body.dataset.ready);
      await page.setInputFiles('#file-input', fixture('initiate-x86.bin'));
      await page.waitForSelector('dialog input[name=base]');
      expect(await page.inputValue('dialog input[name=base]')).toBe('0x8a400000');
      expect(await page.inputValue('dialog select[name=abi]')).toBe('x86');
      // Another file's settings are its own.
      await page.click('dialog button[value=cancel]');
      await page.setInputFiles('#file-input', fixture('query-x64.bin'));
      await page.waitForSelector('dialog input[name=base]');
      expect(await page.inputValue('dialog input[name=base]')).toBe('');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the NDIS revision', () => {
  it('a tree of an NDIS 6.0 host, decoded as 6.0 when chosen: the tree and diagnostics of decode --ndis 6.0, no DWnd', async () => {
    const name = 'every-state-type-ndis60-x64.bin';
    const doc = JSON.parse(readFileSync(fixture(name.replace(/\.bin$/, '.json')), 'utf8')) as { base: string; operation: string };
    const { page, errors } = await filePage();
    try {
      await page.selectOption('#ndis-select', '6.0');
      await page.selectOption('#operation-select', doc.operation);
      await openFile(page, fixture(name), { base: doc.base });
      const want = JSON.parse((await cli('decode', fixture(name), '--base', doc.base, '--ndis', '6.0', '--operation', doc.operation, '--json')).out);
      const as61 = JSON.parse((await cli('decode', fixture(name), '--base', doc.base, '--operation', doc.operation, '--json')).out);
      const state = await pageState(page);
      expect(rowsOf(state)).toEqual(documentRows(want));
      expect(state.diagnostics.map((d) => d.code)).toEqual((want.diagnostics as { code: string }[]).map((d) => d.code));
      // (as 6.1 the same bytes say otherwise: the choice is what made the difference)
      expect(JSON.stringify(want.diagnostics)).not.toEqual(JSON.stringify(as61.diagnostics));
      const tcp = state.rows.findIndex((r) => r.type === 'TcpOffloadDelegatedState');
      const members = await page.evaluate(async (row) => {
        return (await window.ndisOffloadInspector.details(row)).members.map((m) => m.path);
      }, tcp);
      expect(members).toContain('TCP_OFFLOAD_STATE_DELEGATED.CWnd');
      expect(members.filter((p) => p.endsWith('.DWnd'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('drag and drop', () => {
  it('files dropped on the page open as picked ones do (a .vmem with its .vmss: no question asked)', async () => {
    const { page, errors } = await filePage();
    try {
      const files = ['sample-x64.vmem', 'sample-x64.vmss'].map((n) => ({ name: n, base64: readFileSync(fixture(n)).toString('base64') }));
      await page.evaluate(async (list) => {
        const transfer = new DataTransfer();
        for (const f of list) transfer.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
        document.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        // The hint shows while something is dragged over the page.
        if (document.getElementById('drop-hint')!.hidden) throw new Error('no drop hint while dragging');
        document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }, files);
      await treeReady(page);
      const state = await pageState(page);
      expect(await page.isHidden('#drop-hint')).toBe(true);
      expect(state.summary?.format).toBe('vmware');
      const want = JSON.parse((await cli('decode', fixture('sample-x64.vmem'), '--root', state.rows[0]!.address, '--json')).out);
      expect(rowsOf(state)).toEqual(documentRows(want));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
