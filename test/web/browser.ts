/**
 * The browser tests' harness: Debian's Chromium driven by playwright-core (no downloaded
 * browser), the inspector built into a folder of its own and served from 127.0.0.1 by the same
 * server as `ndis-offload serve`. A missing Chromium fails the tests, naming the package.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.js';
import { type InspectorServer, type ServedCapture, startInspectorServer } from '../../src/cli/inspector-server.js';
import type { BlockRow, InspectorHook } from '../../src/web/protocol.js';
import { needsTool } from '../support/tools.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumTool = needsTool('chromium');

/** The flags this closed machine needs (no sandbox as root, no background networking). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  chromiumTool.require();
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

let built: Promise<string> | undefined;
/** The inspector, built once per test process. */
export function webRoot(): Promise<string> {
  built ??= buildWeb(mkdtempSync(join(tmpdir(), 'ndis-web-'))).then((b) => b.outDir);
  return built;
}

export async function serveInspector(captures: readonly ServedCapture[] = []): Promise<InspectorServer> {
  return startInspectorServer({ webRoot: await webRoot(), captures });
}

declare global {
  interface Window {
    /** The page's scripting hook (src/web/app/main.ts). */
    ndisOffloadInspector: InspectorHook;
  }
}

/** What the page's scripting hook gives, as a JSON snapshot. */
export type PageState = Pick<InspectorHook, 'summary' | 'rows' | 'diagnostics' | 'selection' | 'cursor'>;

/** The members of a tree row that `decode --json` gives too. */
export type RowFields = Pick<BlockRow, 'path' | 'depth' | 'layer' | 'role' | 'type' | 'status' | 'address' | 'offset'>;

export const pageState = (page: Page): Promise<PageState> =>
  page.evaluate(() => JSON.parse(JSON.stringify(window.ndisOffloadInspector)) as PageState);

/** A new page that fails the test on any uncaught error in the page. */
export async function newPage(browser: Browser, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}) });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** Waits for the tree of the capture just opened (the page sets body[data-ready] to its block count). */
export async function treeReady(page: Page, before?: string): Promise<number> {
  await page.waitForFunction((b) => document.body.dataset.ready !== undefined && document.body.dataset.ready !== b, before ?? null, { timeout: 30_000 });
  return Number(await page.evaluate(() => document.body.dataset.ready));
}

/** Opens a file through the file input; a region's base and ABI through the dialog. */
export async function openFile(page: Page, path: string | string[], region?: { base: string; abi?: 'x64' | 'x86' }): Promise<number> {
  const before = await page.evaluate(() => document.body.dataset.ready);
  await page.evaluate(() => delete document.body.dataset.ready);
  await page.setInputFiles('#file-input', path);
  if (region) {
    await page.waitForSelector('dialog input[name=base]');
    await page.check('dialog input[name=kind][value=region]');
    await page.fill('dialog input[name=base]', region.base);
    await page.selectOption('dialog select[name=abi]', region.abi ?? 'x64');
    await page.click('dialog button[value=ok]');
  }
  return treeReady(page, before);
}

/** Runs the CLI in this process (as test/cli does): exit code and output. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../src/cli/main.js');
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

interface DocBlock {
  path?: string;
  address: string;
  offset: number | null;
  layer: string;
  role: string;
  type: string;
  Status: { name: string };
  dependents: DocBlock[];
}

/** A `decode --json` document as the page's rows: every block in document order. */
export function documentRows(doc: { blocks: DocBlock[] }): RowFields[] {
  const rows: RowFields[] = [];
  const walk = (blocks: DocBlock[], prefix: string, depth: number): void =>
    blocks.forEach((b, i) => {
      const path = `${prefix}[${i}]`;
      rows.push({ path, depth, layer: b.layer, role: b.role, type: b.type, status: b.Status.name, address: b.address, offset: b.offset });
      walk(b.dependents, `${path}.dependents`, depth + 1);
    });
  walk(doc.blocks, 'blocks', 0);
  return rows;
}
