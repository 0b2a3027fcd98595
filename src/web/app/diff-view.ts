/**
 * The diff panel: a second capture (B) opened beside the one shown (A), and the structural diff
 * the `diff` command gives between their trees, member by member. The panel lists the changes
 * (block path, address, member, A's value, B's value, the bytes that differ) and has B's own hex
 * view; the page's hex view stays A's. The bytes that differ are marked in both hex views
 * (underlined on a tinted background, so not by colour alone). Choosing a change selects its
 * member in A (tree, details and A's bytes follow) and shows the same member's bytes in B.
 * B is decoded at its region's base; another capture is scanned, and decoded at A's root when it
 * has a tree there (one capture before and after an operation), else at its best root; with A's
 * operation.
 */
import type { DiffChange, DiffResult, FileSource, RegionSettings } from '../protocol.js';
import type { Client } from './client.js';
import { $, el, hexOffset } from './dom.js';
import { showError } from './dialogs.js';
import { HexView } from './hex-view.js';
import { openCapture } from './open-capture.js';
import { Store } from './state.js';

export interface DiffHooks {
  client: Client;
  /** A's selection and tree. */
  store: Store;
  /** A's hex view (the page's). */
  hex: HexView;
  /** The page's progress bar, for a long step in the Worker (DTB discovery, scan). */
  progress(done: number, total: number, what: string): void;
  progressDone(): void;
  /** Selects a block (and member) of A, as a click in the tree does. */
  selectA(row: number, member: string | undefined): Promise<void>;
  say(text: string): void;
}


export class DiffView {
  /** The diff shown, or undefined. */
  result: DiffResult | undefined;
  /** The change chosen last (index into result.changes), or -1. */
  current = -1;
  private readonly pane: HTMLElement;
  private readonly list: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly summaryEl: HTMLElement;
  private readonly bLabel: HTMLElement;
  private readonly storeB = new Store();
  private readonly hexB: HexView;
  /** B's Worker session, and what it was decoded with (to decode again when A is). */
  private b: { session: number; root: string } | undefined;
  private aSession: number | undefined;
  /** A's hex marks this panel added (removed on close). */
  private marksA: number[] = [];

  constructor(private readonly hooks: DiffHooks) {
    this.pane = $('diff-pane');
    this.heading = el('h2', { id: 'diff-title', text: 'Diff' });
    const close = el('button', { type: 'button', id: 'diff-close', text: 'Close diff' });
    close.addEventListener('click', () => void this.close());
    this.summaryEl = el('p', { class: 'diff-summary', 'aria-live': 'polite' });
    this.list = el('div', { class: 'diff-changes' });
    this.bLabel = el('h3', { id: 'diff-b-title', class: 'diff-b-title', text: 'B' });
    const hexEl = el('div', { id: 'diff-hex', class: 'hex diff-hex' });
    this.pane.replaceChildren(el('div', { class: 'diff-head' }, this.heading, close), this.summaryEl, this.list, this.bLabel, hexEl);
    this.hexB = new HexView(hexEl, this.storeB, {
      bytes: (offset, length) => hooks.client.call('bytes', { session: this.b!.session, offset, length }),
      onPick: (offset, span) => {
        const i = this.changeAt(offset);
        if (i >= 0) void this.pick(i);
        else hooks.say(`B ${hexOffset(offset)}: ${span ? `${this.storeB.rows[span.row]?.path ?? ''} ${span.label}, the same in A` : 'no block of B\'s tree owns this byte'}`);
      },
      onCursor: (offset, value, span) => {
        const v = value === undefined ? '' : ` = 0x${value.toString(16).padStart(2, '0')}`;
        const changed = this.hexB.changed.has(offset) ? ', differs from A' : '';
        hooks.say(`B ${hexOffset(offset)}${v}: ${span ? `${this.storeB.rows[span.row]?.path ?? ''} ${span.label}${span.padding ? ' (padding)' : ''}` : 'not in the tree'}${changed}`);
      },
    });
    hexEl.setAttribute('aria-labelledby', 'diff-b-title');
    hexEl.removeAttribute('aria-label');
    this.list.addEventListener('click', (e) => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-i]');
      if (tr) void this.pick(Number(tr.dataset.i));
    });
    this.list.addEventListener('keydown', (e) => this.key(e));
    hooks.store.on((_, why) => {
      if (why !== 'tree' || !this.result) return;
      // A opened anew: the diff is of a capture no longer shown. A decoded again: B is too.
      if (hooks.store.summary?.session !== this.aSession || !hooks.store.decoded) void this.close();
      else void this.recompute();
    });
  }

  /** Opens B (a capture, or a .vmem with its state file) and shows its diff against A. */
  async open(sources: FileSource[], given: { settings?: RegionSettings; root?: string } = {}): Promise<void> {
    const { client, store, say } = this.hooks;
    const a = store.summary;
    if (!a || !store.decoded) {
      say('open a capture first: the diff compares it with a second one');
      return;
    }
    let opened: number | undefined;
    try {
      const summary = await openCapture(client, sources, given, (text) => say(`${text.replace(/…$/, '')} to diff against…`), this.hooks.progress).finally(this.hooks.progressDone);
      if (!summary) return;
      opened = summary.session;
      // A region's root is its base; another capture is scanned, as A was: A's root when B has a tree there too (before and after), else B's best.
      let root = given.root ?? summary.base;
      if (!root) {
        const hits = await client.call('scan', { session: summary.session }, this.hooks.progress).finally(this.hooks.progressDone);
        const aRoot = BigInt(store.decoded.root);
        root = hits.find((h) => BigInt(h.address) === aRoot)?.address ?? hits[0]?.address ?? store.decoded.root;
      }
      const operation = store.decoded.operation ?? undefined;
      const decodedB = await client.call('decode', { session: summary.session, root, ndis: store.decoded.ndis, ...(operation ? { operation } : {}) });
      const result = await client.call('diff', { a: a.session, b: summary.session });
      if (this.b) void client.call('close', { session: this.b.session }).catch(() => {});
      this.b = { session: summary.session, root };
      opened = undefined;
      this.aSession = a.session;
      this.storeB.setTree(summary, decodedB);
      this.hexB.setFile(summary.size, summary.base === undefined ? undefined : BigInt(summary.base));
      this.show(result);
    } catch (e) {
      if (opened !== undefined) void client.call('close', { session: opened }).catch(() => {});
      showError(e);
      say(`could not diff: ${(e as Error).message}`);
    }
  }

  /** A was decoded again (another operation or root): B is decoded again with it, and compared. */
  private async recompute(): Promise<void> {
    const { client, store } = this.hooks;
    const b = this.b;
    if (!b || !store.summary || !store.decoded) return;
    try {
      const operation = store.decoded.operation ?? undefined;
      const decodedB = await client.call('decode', { session: b.session, root: b.root, ndis: store.decoded.ndis, ...(operation ? { operation } : {}) });
      const result = await client.call('diff', { a: store.summary.session, b: b.session });
      this.storeB.setTree(this.storeB.summary!, decodedB);
      this.show(result);
    } catch (e) {
      showError(e);
    }
  }

  /** Closes B and the panel, and takes the marks off A's bytes. */
  async close(): Promise<void> {
    const b = this.b;
    // B's view shows nothing (and asks nothing) until another B is opened.
    this.hexB.setFile(0, undefined);
    this.b = undefined;
    this.result = undefined;
    this.current = -1;
    for (const o of this.marksA) this.hooks.hex.changed.delete(o);
    this.marksA = [];
    this.pane.hidden = true;
    $('main').classList.remove('diffing');
    void this.hooks.hex.refresh();
    if (b) await this.hooks.client.call('close', { session: b.session }).catch(() => {});
  }

  private show(result: DiffResult): void {
    this.result = result;
    this.current = -1;
    for (const o of this.marksA) this.hooks.hex.changed.delete(o);
    this.marksA = result.marksA;
    for (const o of result.marksA) this.hooks.hex.changed.add(o);
    this.hexB.changed = new Set(result.marksB);
    this.heading.textContent = `Diff: A ${result.a.name} → B ${result.b.name}`;
    const n = result.changes.length;
    const alone = result.onlyInA.length + result.onlyInB.length;
    const same = n === 0 && alone === 0;
    this.summaryEl.textContent = same
      ? `no differences (root ${result.a.root} in A, ${result.b.root} in B${result.operation ? `, ${result.operation}` : ''})`
      : `${n === 1 ? '1 field differs' : `${n} fields differ`}, ${alone} ${alone === 1 ? 'block' : 'blocks'} in one capture only; ${result.marksA.length} bytes marked in A, ${result.marksB.length} in B (root ${result.a.root} in A, ${result.b.root} in B${result.operation ? `, ${result.operation}` : ''})`;
    this.bLabel.textContent = `B: bytes of ${result.b.name}`;
    const table = el('table', { 'aria-label': 'Changes from A to B' });
    table.append(el('thead', {}, el('tr', {}, ...['Block', 'Member', 'A', 'B', 'Bytes'].map((h) => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    result.changes.forEach((c, i) => {
      const block = el('td', {}, breakable(c.path), el('br'), el('span', { class: 'muted', text: c.address }));
      body.append(el('tr', { 'data-i': i, tabindex: i === 0 ? 0 : -1, 'aria-selected': 'false' }, block, el('td', {}, breakable(c.member)), el('td', { class: 'diff-a', text: c.beforeText }), el('td', { class: 'diff-b', text: c.afterText }), el('td', { text: bytesText(c) })));
    });
    table.append(body);
    const only = (paths: string[], side: 'A' | 'B', name: string): HTMLElement | undefined =>
      paths.length ? el('ul', { class: 'diff-only', 'aria-label': `Blocks only in ${side}` }, ...paths.map((p) => el('li', { text: `${side === 'A' ? '−' : '+'} ${p} (only in ${side}, ${name})` }))) : undefined;
    this.list.replaceChildren(...(n ? [table] : [el('p', { text: 'No member differs.' })]), ...[only(result.onlyInA, 'A', result.a.name), only(result.onlyInB, 'B', result.b.name)].filter((x): x is HTMLElement => x !== undefined));
    this.pane.hidden = false;
    $('main').classList.add('diffing');
    void this.hooks.hex.refresh();
    this.hooks.say(`diff: ${this.summaryEl.textContent}`);
    if (n) void this.pick(0, false);
  }

  /** The change whose marked bytes in B include a file offset, or -1. */
  private changeAt(offset: number): number {
    return this.result?.changes.findIndex((c) => c.b?.marked.includes(offset) || (c.b?.fileOffset !== null && c.b?.fileOffset !== undefined && offset >= c.b.fileOffset && offset < c.b.fileOffset + c.b.size)) ?? -1;
  }

  /** Chooses a change: its member in A (tree, details, A's bytes) and in B's bytes. */
  async pick(i: number, focus = true): Promise<void> {
    const c = this.result?.changes[i];
    if (!c) return;
    this.current = i;
    for (const tr of this.list.querySelectorAll<HTMLElement>('tr[data-i]')) {
      const on = Number(tr.dataset.i) === i;
      tr.setAttribute('aria-selected', String(on));
      tr.tabIndex = on ? 0 : -1;
      if (on && focus) tr.focus();
      if (on) tr.scrollIntoView({ block: 'nearest' });
    }
    if (c.b) {
      this.storeB.selection = { row: c.b.row, ...(c.b.member ? { member: c.b.member } : {}) };
      if (c.b.fileOffset !== null) this.hexB.goTo(c.b.fileOffset, c.b.size);
      else void this.hexB.refresh();
    }
    if (c.a) await this.hooks.selectA(c.a.row, c.a.member);
    this.hooks.say(`${c.path} ${c.member}: ${c.beforeText} in A, ${c.afterText} in B; ${bytesText(c)}`);
  }

  private key(e: KeyboardEvent): void {
    const n = this.result?.changes.length ?? 0;
    const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-i]');
    if (!n || !tr) return;
    const at = Number(tr.dataset.i);
    let to: number;
    switch (e.key) {
      case 'ArrowDown': to = Math.min(n - 1, at + 1); break;
      case 'ArrowUp': to = Math.max(0, at - 1); break;
      case 'Home': to = 0; break;
      case 'End': to = n - 1; break;
      case 'Enter': case ' ': to = at; break;
      default: return;
    }
    e.preventDefault();
    void this.pick(to);
  }
}

/** A dotted path that may break after its dots (a narrow panel wraps it there, not mid-name). */
function breakable(path: string): DocumentFragment {
  const f = document.createDocumentFragment();
  path.split('.').forEach((part, i) => {
    if (i) f.append('.', el('wbr'));
    f.append(part);
  });
  return f;
}

/** How many bytes of a change differ, and where, in words. */
function bytesText(c: DiffChange): string {
  const where = (s: DiffChange['a'], side: string): string | undefined =>
    s && s.marked.length ? `${s.marked.length} in ${side} from ${hexOffset(s.marked[0]!)}` : undefined;
  const parts = [where(c.a, 'A'), where(c.b, 'B')].filter((x) => x !== undefined);
  return parts.length ? parts.join(', ') : 'no bytes of its own';
}
