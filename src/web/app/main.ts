/**
 * The inspector page: opens captures (file picker, drag and drop, or the list `ndis-offload
 * serve` offers), and links the tree, the details, the hex view and the diagnostics through one
 * selection. Everything that reads a capture runs in the Worker (client.ts).
 */
import type { InspectorHook, BlockDetails, ByteSpan, CaptureSummary, DiagnosticRow, FileSource, RegionSettings } from '../protocol.js';
import { Actions } from './actions.js';
import { Client } from './client.js';
import { DetailsView } from './details.js';
import { DiagnosticsView, diagnosticTarget } from './diagnostics.js';
import { $, hexOffset } from './dom.js';
import { HexFind } from './hex-find.js';
import { HexView } from './hex-view.js';
import { askText, showError } from './dialogs.js';
import { openCapture } from './open-capture.js';
import { DiffView } from './diff-view.js';
import { Store } from './state.js';
import { TreeView } from './tree-view.js';

const client = new Client();
const store = new Store();
const status = $('status');
const say = (text: string): void => {
  status.textContent = text;
};

/** Details of the current session's blocks, cached (they are re-read from the bytes on demand). */
const detailsCache = new Map<number, Promise<BlockDetails>>();
/** The Worker's session of the capture shown (set as soon as it is open, before its tree is). */
let session: number | undefined;
const details = (row: number): Promise<BlockDetails> => {
  if (session === undefined) return Promise.reject(new Error('no capture is open'));
  let p = detailsCache.get(row);
  if (!p) {
    p = client.call('details', { session, row });
    detailsCache.set(row, p);
  }
  return p;
};


async function selectMember(row: number, member: string | undefined, why = 'select'): Promise<void> {
  // The hex view's bytes are asked for before the selection is drawn (when the block's members are known), so that the Worker reads them while the tree and details render.
  const known = detailsCache.has(row) ? await details(row) : undefined;
  const pick = (d: BlockDetails) => (member ? d.members.find((x) => x.path === member) : d.members[0]);
  const early = known && pick(known);
  if (early?.fileOffset !== null && early?.fileOffset !== undefined) hex.goTo(early.fileOffset, early.size);
  store.select({ row, ...(member ? { member } : {}) }, why);
  const d = known ?? (await details(row));
  const m = pick(d);
  if (!known && m?.fileOffset !== null && m?.fileOffset !== undefined) hex.goTo(m.fileOffset, m.size);
  const r = store.rows[row]!;
  say(`${r.path} ${r.layer} ${r.type}${m && member ? ` · ${m.path} = ${m.value || m.raw}${m.meaning ? ` (${m.meaning})` : ''} at ${m.address}, ${m.size} bytes` : ` at ${r.address}`}`);
}

const tree = new TreeView($('tree'), store, {
  details,
  onSelect: (row, member) => void selectMember(row, member),
  onError: (e) => showError(e),
});
// (the details pane listens to the store; nothing else calls it)
new DetailsView($('details'), store, {
  details,
  onSelectMember: (row, member) => void selectMember(row, member),
  onFollow: (target) => void follow(target).catch((e) => showError(e)),
  onEdit: (row, member) => void actions.edit(row, member),
});
const hex = new HexView($('hex'), store, {
  bytes: (offset, length) => client.call('bytes', { session: session!, offset, length }),
  onPick: (offset, span) => {
    if (span) void selectMember(span.row, span.label, 'hex');
    else say(`${hexOffset(offset)}: no block of the tree owns this byte`);
  },
  onCursor: (offset, value, span) => say(describeByte(offset, value, span)),
  onRange: (from, to) => say(`${hexOffset(from)}..${hexOffset(to)}: ${to - from + 1} bytes marked (Esc clears)`),
  onFind: (what): boolean | void => (what === 'cancel' ? finder.cancel() : void (what === 'ask' ? finder.ask() : finder.next(what === 'previous'))),
});
const finder: HexFind = new HexFind({
  step: (pattern, from, backwards) => client.call('find', { session: session!, pattern, from, backwards }),
  ask: async (last) => {
    const text = await askText('Find', `Hex bytes (4a 00 ff) or text ("NDIS")${last ? `; last: ${last}` : ''}`);
    hex.element.focus();
    return text;
  },
  size: () => store.summary?.size ?? 0,
  cursor: (): number => hex.cursor,
  show: (offset, length) => hex.mark(offset, length),
  say,
  error: (e) => showError(e),
});
new DiagnosticsView($('diagnostics'), store, (d: DiagnosticRow) => {
  const at = diagnosticTarget(d, (p) => store.rowOfPath(p));
  if (at) void selectMember(at.row, at.member);
  else if (d.offset !== null) hex.goTo(d.offset);
  say(`${d.severity} ${d.code} at ${d.path}: ${d.message}`);
});
const actions = new Actions($('actions'), client, store, {
  session: () => session,
  refresh: (state) => reloadAfterWrite(state),
  say,
});

/** After an edit, undo, redo or completion: the tree decoded again, the selection kept where it still is, the changed bytes marked. */
async function reloadAfterWrite(state: { changed: number[] }): Promise<void> {
  const summary = store.summary;
  const decoded = store.decoded;
  if (!summary || !decoded || session === undefined) return;
  const was = store.selection;
  const path = was ? store.rows[was.row]?.path : undefined;
  const result = await client.call('decode', { session, root: decoded.root, ...(decoded.operation ? { operation: decoded.operation } : {}) });
  detailsCache.clear();
  store.setTree(summary, result);
  hex.changed = new Set(state.changed);
  const row = path === undefined ? undefined : store.rowOfPath(path);
  if (row !== undefined) await selectMember(row, was?.member);
  else if (result.rows.length) await selectMember(0, undefined);
  void hex.refresh();
}

function describeByte(offset: number, value: number | undefined, span: ByteSpan | undefined): string {
  const v = value === undefined ? '' : ` = 0x${value.toString(16).padStart(2, '0')}`;
  if (!span) return `${hexOffset(offset)}${v}: not in the tree`;
  return `${hexOffset(offset)}${v}: ${store.rows[span.row]?.path ?? ''} ${span.label}${span.padding ? ' (padding)' : ''}`;
}

/**
 * Follows a pointer (or a typed address): to the block at the address, else to the member that
 * owns its byte, else to the bytes. An address the capture does not hold is an error.
 */
async function follow(target: string): Promise<void> {
  const row = store.rowAt(target);
  if (row !== undefined) return selectMember(row, undefined, 'follow');
  const at = await client.call('locate', { session: session!, address: target });
  if (!at) throw new Error(`${target}: the capture holds no byte at this address`);
  await goToOffset(at.offset, `${target} is at file offset ${hexOffset(at.offset)}`);
}

/** Puts the hex cursor on a file offset and selects the member that owns the byte, if one does. */
async function goToOffset(offset: number, what: string): Promise<void> {
  const owner = await client.call('owner', { session: session!, offset });
  if (owner) await selectMember(owner.row, owner.label, 'follow');
  hex.goTo(offset);
  say(`${what}${owner ? `: ${store.rows[owner.row]?.path ?? ''} ${owner.label}` : ' (no block of the tree owns it)'}`);
}

// ---------------------------------------------------------------------------------------------
// Opening

/** A long step in the Worker (DTB discovery, scan): a progress bar with what it is doing. */
function progress(done: number, total: number, what: string): void {
  $('progress-box').hidden = false;
  $('progress-what').textContent = what;
  const bar = $<HTMLProgressElement>('progress');
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, total);
}
const progressDone = (): void => {
  $('progress-box').hidden = true;
};

/** The roots a scan found, best first: the one opened is selected, the others a choice away. */
function listRoots(hits: { address: string; blocks: number; score: number }[], opened: string | undefined): void {
  const select = $<HTMLSelectElement>('roots-select');
  select.replaceChildren(...hits.map((h) => {
    const o = document.createElement('option');
    o.value = h.address;
    o.textContent = `${h.address} (${h.blocks} blocks)`;
    o.selected = h.address === opened;
    return o;
  }));
  $('roots-label').hidden = hits.length < 2;
}


/** Opens a capture (and a VMware state file given with its .vmem), then decodes or scans. */
export async function openSources(sources: FileSource[], given: { root?: string; settings?: RegionSettings } = {}): Promise<void> {
  try {
    const summary = await openCapture(client, sources, given, say, progress).finally(progressDone);
    if (!summary) return;
    // The old capture's requests still in flight are answered before its close (one Worker, in order).
    if (session !== undefined) void client.call('close', { session }).catch(() => {});
    session = summary.session;
    detailsCache.clear();
    actions.opened(summary);
    $('capture-name').textContent = describeCapture(summary);
    hex.setFile(summary.size, summary.base === undefined ? undefined : BigInt(summary.base));
    let root = given.root ?? (summary.base ? summary.base : undefined);
    listRoots([], undefined);
    if (!root) {
      const hits = await client.call('scan', { session: summary.session }, progress).finally(progressDone);
      if (!hits.length) {
        store.setTree(summary, undefined);
        say(`${summary.name}: no offload tree found by scan; type a root and press Decode`);
        return;
      }
      root = hits[0]!.address;
      listRoots(hits, root);
      say(`scan found ${hits.length} candidate roots; opened the best, ${root} (${hits[0]!.blocks} blocks)`);
    }
    ($('root-input') as HTMLInputElement).value = root;
    await decode(summary, root);
  } catch (e) {
    showError(e);
    say(`could not open: ${(e as Error).message}`);
  }
}

function describeCapture(s: CaptureSummary): string {
  return `${s.name}: ${s.format} (${s.variant}), ${s.abi}, ${s.paging}${s.dtb ? `, DTB ${s.dtb.value} from ${s.dtb.source}` : ''}${s.writable ? '' : ', read-only'}`;
}

async function decode(summary: CaptureSummary, root: string): Promise<void> {
  const operation = ($('operation-select') as HTMLSelectElement).value;
  const ndis = ($('ndis-select') as HTMLSelectElement).value;
  const result = await client.call('decode', { session: summary.session, root, ndis, ...(operation ? { operation } : {}) });
  detailsCache.clear();
  store.setTree(summary, result);
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  say(`${result.rows.length} blocks, ${result.diagnostics.length} diagnostics (${errors} errors), decoded in ${result.ms.toFixed(0)} ms`);
  document.body.dataset.ready = String(result.rows.length);
  const fromHash = store.parseFragment(location.hash);
  if (fromHash) await selectMember(fromHash.row, fromHash.member);
  else if (result.rows.length) await selectMember(0, undefined);
}

$('file-input').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length) void openSources(files.map((file) => ({ kind: 'file', file })));
});

$('roots-select').addEventListener('change', (e) => {
  const s = store.summary;
  const root = (e.target as HTMLSelectElement).value;
  if (!s) return;
  ($('root-input') as HTMLInputElement).value = root;
  decode(s, root).catch((err) => showError(err));
});

$('decode-button').addEventListener('click', () => {
  const s = store.summary;
  const root = ($('root-input') as HTMLInputElement).value.trim();
  if (!s) return say('open a capture first');
  decode(s, root).catch((e) => showError(e));
});

const dropHint = $('drop-hint');
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropHint.hidden = false;
});
document.addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null) dropHint.hidden = true;
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dropHint.hidden = true;
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.length) void openSources(files.map((file) => ({ kind: 'file', file })));
});

async function goToPrompt(): Promise<void> {
  const s = store.summary;
  if (!s) return;
  const text = await askText('Go to', 'A virtual address (0xffff…) or a file offset (+0x1a0 or +416)');
  if (!text) return;
  try {
    if (text.startsWith('+')) {
      const n = Number(text.slice(1));
      if (!/^\+(0x[0-9a-f]+|[0-9]+)$/i.test(text) || !Number.isSafeInteger(n) || n < 0 || n >= s.size) throw new Error(`${text}: not an offset in the file (0 to ${s.size - 1})`);
      return await goToOffset(n, `file offset ${hexOffset(n)}`);
    }
    await follow(text.startsWith('0x') || text.startsWith('0X') ? text : `0x${text}`);
  } catch (e) {
    showError(e);
  }
}

$('goto-button').addEventListener('click', () => void goToPrompt());
document.addEventListener('keydown', (e) => {
  if (e.altKey && e.key === 'ArrowLeft') {
    e.preventDefault();
    if (!store.goBack()) say('no earlier selection');
  } else if (e.altKey && e.key === 'ArrowRight') {
    e.preventDefault();
    if (!store.goForward()) say('no later selection');
  } else if ((e.ctrlKey || e.metaKey) && (e.key === 'g' || e.key === 'G')) {
    e.preventDefault();
    void goToPrompt();
  }
});
store.on((s, why) => {
  if (why === 'history' && s) void selectMember(s.row, s.member, 'history-shown');
});
window.addEventListener('hashchange', () => {
  const s = store.parseFragment(location.hash);
  if (s && (s.row !== store.selection?.row || s.member !== store.selection?.member)) void selectMember(s.row, s.member);
});

// ---------------------------------------------------------------------------------------------
// Diff (diff-view.ts): a second capture compared with the one shown.

const diffView = new DiffView({ client, store, hex, progress, progressDone, selectA: (row, member) => selectMember(row, member, 'diff'), say });
$('diff-button').addEventListener('click', () => {
  if (!store.decoded) return say('open a capture first: the diff compares it with a second one');
  $<HTMLInputElement>('diff-input').click();
});
$('diff-input').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length) void diffView.open(files.map((file) => ({ kind: 'file', file })));
});

/** Served by `ndis-offload serve`: open what it names. */
async function openServed(): Promise<void> {
  if (!location.protocol.startsWith('http')) return;
  let list: { url: string; name: string; size: number; root?: string; settings?: RegionSettings; sibling?: { url: string; name: string; size: number } }[];
  try {
    const r = await fetch('api/captures');
    if (!r.ok) return;
    list = await r.json();
  } catch {
    return;
  }
  const first = list[0];
  if (!first) return;
  // The Worker runs from a blob: URL, so it is given absolute URLs.
  const absolute = (url: string): string => new URL(url, location.href).href;
  const sources: FileSource[] = [{ kind: 'url', url: absolute(first.url), name: first.name, size: first.size }];
  if (first.sibling) sources.push({ kind: 'url', ...first.sibling, url: absolute(first.sibling.url) });
  await openSources(sources, { ...(first.root ? { root: first.root } : {}), ...(first.settings ? { settings: first.settings } : {}) });
  // `serve A B`: B is opened and diffed against A.
  const second = list[1];
  if (second && store.decoded) {
    const b: FileSource[] = [{ kind: 'url', url: absolute(second.url), name: second.name, size: second.size }];
    if (second.sibling) b.push({ kind: 'url', ...second.sibling, url: absolute(second.sibling.url) });
    await diffView.open(b, { ...(second.root ? { root: second.root } : {}), ...(second.settings ? { settings: second.settings } : {}) });
  }
}

/**
 * A read-only view of the page's state for scripts driving it (the browser tests, automation):
 * the capture's summary, the decoded rows and diagnostics, and the selection.
 */
const hook: InspectorHook = {
  /** The diff panel's result (diff-view.ts), undefined when no diff is shown. */
  get diff() {
    return diffView.result;
  },
  get summary() {
    return store.summary;
  },
  get rows() {
    return store.rows;
  },
  get diagnostics() {
    return store.diagnostics;
  },
  get selection() {
    return store.selection;
  },
  /** A block's member rows, as the details pane shows them. */
  details: (row: number) => details(row),
  get cursor() {
    return hex.cursor;
  },
  get edits() {
    return actions.editState;
  },
};
(window as unknown as { ndisOffloadInspector: InspectorHook }).ndisOffloadInspector = hook;

tree.focus();
void openServed();
