/**
 * Editing in Chromium: a member of a region edited in the details pane (double-click, Enter, F2),
 * checked against its C type's range as typed, refused by the Worker with the encoder's message,
 * undone and redone (Ctrl+Z, Ctrl+Y, the buttons), the changed bytes marked in the hex view, and
 * the downloaded capture compared byte for byte with `encode --onto` of the same edits. A crash
 * dump refuses the edit with its reason and offers its tree as a region capture with its JSON
 * document, which the CLI decodes to the same tree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFile, cliOut, changedBytes, downloadBy, downloadFromMenu, fixture, gotoPage, tempDir } from './act.js';
import { launchChromium, newPage, openFile, pageState } from './browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const SAMPLE = fixture('sample-x64.bin');
const BASE = '0xffffc70a12340000';
const TCP = 'blocks[0].dependents[0].dependents[0]';

type Doc = { blocks: Record<string, unknown>[] };
const tcpOf = (doc: Doc): Record<string, Record<string, unknown>> => {
  const neighbor = doc.blocks[0]!;
  const path = (neighbor.dependents as Record<string, unknown>[])[0]!;
  return (path.dependents as Record<string, unknown>[])[0]!.state as Record<string, Record<string, unknown>>;
};

/** `encode --onto` of the sample's document with `change` made to it. */
async function encodeOnto(change: (doc: Doc) => void): Promise<Buffer> {
  const doc = JSON.parse(await cliOut('decode', SAMPLE, '--base', BASE, '--operation', 'initiate', '--json')) as Doc;
  change(doc);
  const file = join(tempDir(), 'tree.json');
  writeFileSync(file, JSON.stringify(doc));
  return cliFile(['encode', file, '--onto', SAMPLE]);
}

const member = (page: Page, path: string) => page.locator(`#details tr[data-member="${path}"]`);

async function writeValue(page: Page, value: string): Promise<void> {
  await page.fill('dialog.edit-dialog input[name=value]', value);
  await page.click('dialog.edit-dialog button[type=submit]');
}

describe('editing a region', () => {
  it('edits in the details pane, undoes and redoes, and downloads the bytes of encode --onto', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await gotoPage(page, `${TCP}/TCP_OFFLOAD_STATE_CONST.RemotePort`, 'initiate');
      await openFile(page, SAMPLE, { base: BASE });
      expect((await pageState(page)).selection).toMatchObject({ member: 'TCP_OFFLOAD_STATE_CONST.RemotePort' });

      // A port, in host order as the encode forms take it; a value beyond USHORT is refused as typed.
      await member(page, 'TCP_OFFLOAD_STATE_CONST.RemotePort').dblclick();
      await page.waitForSelector('dialog.edit-dialog');
      expect(await page.textContent('dialog.edit-dialog')).toContain('the port in host order (0..65535)');
      await writeValue(page, '70000');
      expect(await page.textContent('dialog.edit-dialog [role=alert]')).toBe('70000 does not fit USHORT (0..65535)');
      expect(await changedBytes(page)).toBe(0);
      await writeValue(page, '8080');
      await page.waitForSelector('dialog.edit-dialog', { state: 'detached' });
      await changedBytes(page, 2);
      // The details show the new value, the hex view marks the two bytes.
      await page.waitForFunction(() => document.querySelector('#details tr[data-member="TCP_OFFLOAD_STATE_CONST.RemotePort"]')?.textContent?.includes('8080 in host order'));
      await page.waitForFunction(() => document.querySelectorAll('#hex .b.changed').length === 2);

      // An enum by name, from the keyboard (Enter on the member's row); the names are offered.
      await member(page, 'TCP_OFFLOAD_STATE_DELEGATED.State').click();
      await member(page, 'TCP_OFFLOAD_STATE_DELEGATED.State').press('Enter');
      await page.waitForSelector('dialog.edit-dialog');
      const names = await page.$$eval('dialog.edit-dialog datalist option', (os) => os.map((o) => (o as HTMLOptionElement).value));
      expect(names).toContain('TcpConnectionFinWait1');
      await writeValue(page, 'TcpConnectionFinWait1');
      await page.waitForSelector('dialog.edit-dialog', { state: 'detached' });
      await changedBytes(page, 3);

      // The Worker's refusal (encode's own message) is shown in the dialog, and nothing changes.
      await page.click('#tree [role=treeitem] >> nth=0');
      await page.evaluate(() => {
        location.hash = '#blocks[1]/NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress';
      });
      await member(page, 'NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress').waitFor();
      await page.keyboard.press('F2');
      await page.waitForSelector('dialog.edit-dialog');
      await writeValue(page, '00'.repeat(33));
      await page.waitForFunction(() => document.querySelector('dialog.edit-dialog [role=alert]')?.textContent?.includes('33 bytes do not fit UCHAR[32]'));
      expect(await page.textContent('dialog.edit-dialog [role=alert]')).toBe('blocks[1].state.NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress: 33 bytes do not fit UCHAR[32]');
      await page.click('dialog.edit-dialog button:text("Cancel")');
      expect(await changedBytes(page)).toBe(3);

      const both = await encodeOnto((doc) => {
        const tcp = tcpOf(doc);
        tcp.TCP_OFFLOAD_STATE_CONST!.RemotePort = { host: 8080 };
        (tcp.TCP_OFFLOAD_STATE_DELEGATED!.State as Record<string, unknown>).name = 'TcpConnectionFinWait1';
      });
      const portOnly = await encodeOnto((doc) => {
        tcpOf(doc).TCP_OFFLOAD_STATE_CONST!.RemotePort = { host: 8080 };
      });
      expect((await downloadFromMenu(page, 'capture')).bytes.equals(both)).toBe(true);

      // Ctrl+Z undoes the State, the Undo button the port; Ctrl+Y redoes the port.
      await page.click('#tree [role=treeitem] >> nth=0');
      await page.keyboard.press('Control+z');
      await changedBytes(page, 2);
      expect((await downloadFromMenu(page, 'capture')).bytes.equals(portOnly)).toBe(true);
      await page.click('#undo-button');
      await changedBytes(page, 0);
      await page.waitForFunction(() => document.querySelectorAll('#hex .b.changed').length === 0);
      expect(await page.isDisabled('#undo-button')).toBe(true);
      expect((await downloadFromMenu(page, 'capture')).bytes.equals(readFileSync(SAMPLE))).toBe(true);
      await page.click('#tree [role=treeitem] >> nth=0');
      await page.keyboard.press('Control+y');
      await changedBytes(page, 2);
      const redone = await downloadFromMenu(page, 'capture');
      expect(redone.name).toBe('sample-x64-edited.bin');
      expect(redone.bytes.equals(portOnly)).toBe(true);
      expect(await page.getAttribute('#redo-button', 'title')).toContain('TCP_OFFLOAD_STATE_DELEGATED.State = TcpConnectionFinWait1');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a status by name and a bit-field take the encode forms, and equal encode --onto', async () => {
    const { page, errors } = await newPage(browser);
    try {
      await gotoPage(page, 'blocks[1]/NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status', 'initiate');
      await openFile(page, SAMPLE, { base: BASE });
      await member(page, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status').dblclick();
      await writeValue(page, 'NDIS_STATUS_RESOURCES');
      await page.waitForSelector('dialog.edit-dialog', { state: 'detached' });
      await page.evaluate((p) => {
        location.hash = `#${p}/TCP_OFFLOAD_STATE_CONST.SndWindScale`;
      }, TCP);
      await member(page, 'TCP_OFFLOAD_STATE_CONST.SndWindScale').dblclick();
      expect(await page.textContent('dialog.edit-dialog')).toContain('a 4-bit field of UCHAR: 0..15');
      await writeValue(page, '16');
      expect(await page.textContent('dialog.edit-dialog [role=alert]')).toBe('16 does not fit a 4-bit field of UCHAR (0..15)');
      await writeValue(page, '0xe');
      await page.waitForSelector('dialog.edit-dialog', { state: 'detached' });
      await page.waitForFunction(() => window.ndisOffloadInspector.rows.find((r) => r.path === 'blocks[1]')?.status === 'NDIS_STATUS_RESOURCES');
      const want = await encodeOnto((doc) => {
        (doc.blocks[1]!.Status as Record<string, unknown>).name = 'NDIS_STATUS_RESOURCES';
        tcpOf(doc).TCP_OFFLOAD_STATE_CONST!.SndWindScale = 14;
      });
      expect((await downloadFromMenu(page, 'capture')).bytes.equals(want)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('read-only captures', () => {
  it('a crash dump refuses the edit with its reason and exports the tree as a region with its JSON document', async () => {
    const { page, errors } = await newPage(browser);
    const dump = fixture('sample-x64.dmp');
    try {
      await gotoPage(page);
      await openFile(page, dump);
      const state = await pageState(page);
      expect(state.summary?.writable).toBe(false);
      // The capture's own reason, as the Worker's summary gives it for a crash dump.
      const reason = 'dump captures are read-only here';
      expect(await page.evaluate(() => window.ndisOffloadInspector.summary?.readOnlyReason)).toBe(reason);
      await member(page, 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Status').dblclick();
      await page.waitForSelector('dialog.read-only-dialog');
      expect(await page.textContent('dialog.read-only-dialog [role=alert]')).toBe(`Editing is refused: ${reason}.`);
      const region = await downloadBy(page, () => page.click('dialog.read-only-dialog [data-download=region]'));
      const json = await downloadBy(page, () => page.click('dialog.read-only-dialog [data-download=region-json]'));
      await page.click('dialog.read-only-dialog button:text("Close")');
      expect(region.name).toBe('sample-x64-region.bin');
      expect(json.name).toBe('sample-x64-region.json');
      const dir = tempDir();
      writeFileSync(join(dir, region.name), region.bytes);
      const doc = JSON.parse(json.bytes.toString('utf8')) as Doc & { base: string };
      // The JSON document is decode --json of the region, and the region is encode of the dump's document.
      expect(json.bytes.toString('utf8')).toBe(await cliOut('decode', join(dir, region.name), '--base', doc.base, '--json'));
      const fromDump = await cliOut('decode', dump, '--root', state.rows[0]!.address, '--json');
      writeFileSync(join(dir, 'dump.json'), fromDump);
      expect(region.bytes.equals(await cliFile(['encode', join(dir, 'dump.json')]))).toBe(true);
      // The same tree: every block's place in it, role, type, Status and state, at the region's addresses.
      const pointers = /^(address|offset|NextBlock|DependentBlockList|MiniportOffloadContext|SourceAddress|DestinationAddress|\*MiniportOffloadContext)$/;
      const shape = (d: Doc): unknown => JSON.parse(JSON.stringify(d.blocks, (k, v: unknown) => (pointers.test(k) ? undefined : v)));
      expect(shape(doc)).toEqual(shape(JSON.parse(fromDump) as Doc));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
