/**
 * The web inspector's benchmark cases, in Debian's Chromium (the browser tests' harness,
 * test/web/browser.ts), the page served from 127.0.0.1:
 *
 *   web/open-sample    page load (navigation start) to the sample's tree on screen: sample-x64.bin
 *                      opened through the file input as a region
 *   web/open-dump@2g   the file input to the tree of a sparse bitmap crash dump of a 2 GiB
 *                      machine (large-x64 in it, no root given: the page scans, as a person's would)
 *   web/select         a click on a tree row to its block's bytes highlighted in the hex view
 *
 * Each reports its median and, after it, the page's JS heap (CDP Performance.getMetrics) and the
 * Worker's (CDP Runtime.getHeapUsage on the Worker's target); `webBundle()` the sizes of
 * dist/web's files, gzipped. The names and targets are in bench/web-results.ts. bench/run.ts runs
 * this module in a process of its own (it needs the DOM's types, which the root tsconfig leaves
 * out: test/web's tsconfig checks it); alone:
 *
 *   npx tsx bench/web.ts [--only web/select]    prints { cases, bundle } as JSON
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.js';
import { buildFixture, readDescription } from '../scripts/fixtures.js';
import { buildAddressSpace, writeBitmapDump } from '../src/codec/dump-writer.js';
import { launchChromium, openFile, serveInspector, treeReady } from '../test/web/browser.js';
import type { WebBundle, WebCaseResult } from './web-results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const MB = 2 ** 20;

/**
 * A sparse bitmap crash dump of a machine with `ramBytes` of RAM holding large-x64 (its root at
 * the fixture's base + 0xf80, its frames scattered): every RAM page "stored", only the tree's
 * pages and the tables written, the rest holes (the file costs a few hundred KB of disk).
 */
export function writeSparseDump(file: string, ramBytes = 2 * 1024 * MB): { root: bigint; size: number } {
  const d = readDescription('large-x64');
  const root = BigInt(d.base!) + 0xf80n;
  const { bytes } = buildFixture({ ...d, base: `0x${root.toString(16)}` });
  const space = buildAddressSpace([{ address: root, bytes }], { scatter: 11, physicalPages: ramBytes / 4096 });
  const image = writeBitmapDump(space, { storeAll: true });
  image.toFile(file);
  return { root, size: image.size };
}

/** The page's JS heap in use, bytes (CDP: exact, where performance.memory is rounded). */
export async function pageHeap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value;
    if (used === undefined) throw new Error('CDP Performance.getMetrics gave no JSHeapUsedSize');
    return used;
  } finally {
    await cdp.detach();
  }
}

/** The JS heap in use of the page's (one) Worker, bytes, through the browser's CDP session; undefined when no Worker target answers. */
export async function workerHeap(browser: Browser): Promise<number | undefined> {
  const b = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = await b.send('Target.getTargets');
    const worker = targetInfos.find((t) => t.type === 'worker');
    if (!worker) return undefined;
    const { sessionId } = await b.send('Target.attachToTarget', { targetId: worker.targetId, flatten: false });
    const answer = new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 5000);
      b.on('Target.receivedMessageFromTarget', (e) => {
        if (e.sessionId !== sessionId) return;
        const m = JSON.parse(e.message) as { id?: number; result?: { usedSize: number } };
        if (m.id !== 1) return;
        clearTimeout(timer);
        resolve(m.result?.usedSize);
      });
    });
    await b.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }) });
    const used = await answer;
    await b.send('Target.detachFromTarget', { sessionId }).catch(() => {});
    return used;
  } finally {
    await b.detach();
  }
}

/** Garbage-collects the page (CDP HeapProfiler.collectGarbage), so that the heap measured is what is kept. */
export async function collectGarbage(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
  } finally {
    await cdp.detach();
  }
}

/**
 * Clicks tree item `item` (one on screen) and times, in the page, the click to the first frame
 * whose hex view marks the first byte of the block it selects as selected. Returns milliseconds
 * and the selection made.
 */
export async function timeSelect(page: Page, item: number): Promise<{ ms: number; row: number; member: string | undefined }> {
  // A string, not a function: tsx's keepNames would wrap the page's inner functions in a helper the page does not have.
  return page.evaluate(`new Promise((resolve, reject) => {
    const node = document.querySelector('#tree [data-item="${item}"]');
    if (!node) return reject(new Error('tree item ${item} is not on screen'));
    const hex = document.getElementById('hex');
    const state = window.ndisOffloadInspector;
    const before = state.selection;
    const t0 = performance.now();
    const check = () => {
      const sel = state.selection;
      if (!sel || sel === before) return;
      const o = state.rows[sel.row].offset;
      if (o === null || !hex.querySelector('.b[data-o="' + o + '"].in-block, .b[data-o="' + o + '"].in-member')) return;
      observer.disconnect();
      resolve({ ms: performance.now() - t0, row: sel.row, member: sel.member });
    };
    const observer = new MutationObserver(check);
    observer.observe(hex, { subtree: true, childList: true, attributes: true });
    node.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    setTimeout(() => reject(new Error('tree item ${item}: its block was not highlighted in 10 s')), 10000);
  })`) as Promise<{ ms: number; row: number; member: string | undefined }>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function result(name: string, times: number[], warmup: number, blocks: number, heap: { page: number; worker: number | undefined }, imageBytes?: number): WebCaseResult {
  return {
    name,
    // No time per block: the cases time a page, not a walk (the tree's size is in treeBlocks).
    blocks: 0,
    treeBlocks: blocks,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    samples: times.length,
    warmup,
    ...(imageBytes === undefined ? {} : { imageBytes }),
    pageHeapBytes: heap.page,
    ...(heap.worker === undefined ? {} : { workerHeapBytes: heap.worker }),
  };
}

async function heaps(browser: Browser, page: Page): Promise<{ page: number; worker: number | undefined }> {
  await collectGarbage(page);
  return { page: await pageHeap(page), worker: await workerHeap(browser) };
}

/** Builds the web inspector into a temporary folder: its files' sizes (bytes, gzipped). */
export async function webBundle(): Promise<WebBundle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ndis-web-bench-'));
  try {
    return (await buildWeb(dir)).sizes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the web cases (those whose name contains one of `only`, or all). */
export async function webCases(options: { only?: string[]; runs?: number } = {}): Promise<{ cases: WebCaseResult[]; bundle: WebBundle }> {
  const wanted = (n: string): boolean => !options.only || options.only.some((o) => n.includes(o));
  const runs = options.runs ?? 7;
  const bundle = await webBundle();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ndis-web-bench-'));
  const browser = await launchChromium();
  const server = await serveInspector();
  const cases: WebCaseResult[] = [];
  /** Uncaught errors in any page: a case that met one fails. */
  const errors: string[] = [];
  try {
    const sample = path.join(repo, 'fixtures', 'sample-x64.bin');
    const sampleBase = readDescription('sample-x64').base!;
    const fresh = async (): Promise<Page> => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.on('pageerror', (e) => errors.push(e.message));
      return page;
    };
    if (wanted('web/open-sample')) {
      // Page load to tree: `ndis-offload serve sample-x64.bin --base ...` as a person runs it; the
      // page's time origin (navigation start) to the tree's first item on screen.
      const served = await serveInspector([{ path: sample, settings: { kind: 'region', base: sampleBase, abi: 'x64' } }]);
      const times: number[] = [];
      let blocks = 0;
      let heap = { page: 0, worker: undefined as number | undefined };
      try {
        for (let i = 0; i < runs + 1; i++) {
          const page = await fresh();
          await page.goto(served.url);
          blocks = await treeReady(page);
          await page.waitForSelector('#tree [role=treeitem]');
          const ms = await page.evaluate(() => performance.now());
          if (i > 0) times.push(ms);
          if (i === runs) heap = await heaps(browser, page);
          await page.close();
        }
      } finally {
        await served.close();
      }
      cases.push(result('web/open-sample', times, 1, blocks, heap, statSync(sample).size));
    }
    if (wanted('web/open-dump@2g')) {
      const file = path.join(dir, 'machine-2g.dmp');
      const { size } = writeSparseDump(file);
      const times: number[] = [];
      let blocks = 0;
      let heap = { page: 0, worker: undefined as number | undefined };
      for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)) + 1; i++) {
        const page = await fresh();
        await page.goto(server.url);
        const t0 = performance.now();
        blocks = await openFile(page, file);
        await page.waitForSelector('#tree [role=treeitem]');
        const ms = performance.now() - t0;
        if (i > 0) times.push(ms);
        if (i === Math.max(3, Math.ceil(runs / 2))) heap = await heaps(browser, page);
        await page.close();
      }
      cases.push(result('web/open-dump@2g', times, 1, blocks, heap, size));
    }
    if (wanted('web/select')) {
      const page = await fresh();
      await page.goto(server.url);
      const blocks = await openFile(page, sample, { base: sampleBase });
      const visible = (await page.evaluate("[...document.querySelectorAll('#tree [data-item]')].map((e) => Number(e.dataset.item))")) as number[];
      // Two block items on screen whose blocks are far apart (the first and the last found), clicked in turn so that every click moves the selection.
      const blockItems: { item: number; row: number }[] = [];
      for (const item of visible) {
        const s = await timeSelect(page, item).catch(() => undefined);
        if (s && s.member === undefined && !blockItems.some((b) => b.row === s.row)) blockItems.push({ item, row: s.row });
      }
      if (blockItems.length < 2) throw new Error(`web/select: fewer than two blocks on the tree's first screen (${blockItems.length})`);
      const pair = [blockItems[0]!, blockItems.at(-1)!];
      const times: number[] = [];
      for (let i = 0; i < runs * 3 + 2; i++) {
        const { ms } = await timeSelect(page, pair[i % 2]!.item);
        if (i >= 2) times.push(ms);
      }
      cases.push(result('web/select', times, 2, blocks, await heaps(browser, page)));
      await page.close();
    }
    if (errors.length) throw new Error(`the page failed: ${errors.join('; ')}`);
  } finally {
    await server.close();
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { cases, bundle };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.split(',') : undefined;
  console.log(JSON.stringify(await webCases(only ? { only } : {}), null, 2));
}
