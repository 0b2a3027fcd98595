/**
 * The inspector page: opens captures (file picker, drag and drop, or the list `ndis-offload
 * serve` offers), and links the tree, the details, the hex view and the diagnostics through one
 * selection. Everything that reads a capture runs in the Worker (client.ts).
 */
import type { BlockDetails, ByteSpan, CaptureSummary, DiagnosticRow, FileSource, RegionSettings } from '../protocol.js';
import { Client } from './client.js';
import { DetailsView } from './details.js';
import { DiagnosticsView } from './diagnostics.js';
import { $, hexOffset } from './dom.js';
import { HexView } from './hex-view.js';
import { askRegionSettings, askText, showError } from './dialogs.js';
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

/** A diagnostic's member as a member row's path (the block structure's members are named bare). */
function memberPath(member: string | undefined): string | undefined {
  if (!member) return undefined;
  return /^[A-Z0-9_]+_[A-Z0-9_]+\./.test(member) || /^\*/.test(member) ? member : `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.${member}`;
}

async function selectMember(row: number, member: string | undefined, why = 'select'): Promise<void> {
  store.select({ row, ...(member ? { member } : {}) }, why);
  const d = await details(row);
  const m = member ? d.members.find((x) => x.path === member) : d.members[0];
  if (m?.fileOffset !== null && m?.fileOffset !== undefined) hex.goTo(m.fileOffset, m.size);
  const r = store.rows[row]!;
  say(`${r.path} ${r.layer} ${r.type}${m && member ? ` · ${m.path} = ${m.value || m.raw}${m.meaning ? ` (${m.meaning})` : ''} at ${m.address}, ${m.size} bytes` : ` at ${r.address}`}`);
}

const tree = new TreeView($('tree'), store, {
  details,
  onSelect: (row, member) => void selectMember(row, member),
});
const detailsView = new DetailsView($('details'), store, {
  details,
  onSelectMember: (row, member) => void selectMember(row, member),
  onFollow: (target) => void follow(target),
});
const hex = new HexView($('hex'), store, {
  bytes: (offset, length) => client.call('bytes', { session: session!, offset, length }),
  onPick: (offset, span) => {
    if (span) void selectMember(span.row, span.padding ? undefined : span.label, 'hex');
    else say(`${hexOffset(offset)}: no block of the tree owns this byte`);
  },
  onCursor: (offset, value, span) => say(describeByte(offset, value, span)),
});
new DiagnosticsView($('diagnostics'), store, (d: DiagnosticRow) => {
  if (d.row >= 0) void selectMember(d.row, memberPath(d.member));
  else if (d.offset !== null) hex.goTo(d.offset);
  say(`${d.severity} ${d.code} at ${d.path}: ${d.message}`);
});
void detailsView;

function describeByte(offset: number, value: number | undefined, span: ByteSpan | undefined): string {
  const v = value === undefined ? '' : ` = 0x${value.toString(16).padStart(2, '0')}`;
  if (!span) return `${hexOffset(offset)}${v}: not in the tree`;
  return `${hexOffset(offset)}${v}: ${store.rows[span.row]?.path ?? ''} ${span.label}${span.padding ? ' (padding)' : ''}`;
}

/** Follows a pointer: to the block at the address, or to its bytes. */
async function follow(target: string): Promise<void> {
  const row = store.rowAt(target);
  if (row !== undefined) return selectMember(row, undefined, 'follow');
  const at = await client.call('locate', { session: session!, address: target });
  if (at) {
    hex.goTo(at.offset);
    say(`${target} is at file offset ${hexOffset(at.offset)} (no block starts there)`);
  } else say(`${target} is not in the capture`);
}

// ---------------------------------------------------------------------------------------------
// Opening

const SETTINGS_KEY = (name: string): string => `ndis-offload:settings:${name}`;

function remembered(name: string): RegionSettings | undefined {
  try {
    const text = localStorage.getItem(SETTINGS_KEY(name));
    return text ? (JSON.parse(text) as RegionSettings) : undefined;
  } catch {
    return undefined;
  }
}

function remember(name: string, s: RegionSettings): void {
  try {
    localStorage.setItem(SETTINGS_KEY(name), JSON.stringify(s));
  } catch {
    // Storage may be off (file:// in some browsers): the settings are asked again next time.
  }
}

const nameOf = (s: FileSource): string => (s.kind === 'file' ? s.file.name : s.name);

/** Opens a capture (and a VMware state file given with its .vmem), then decodes or scans. */
export async function openSources(sources: FileSource[], given: { root?: string; settings?: RegionSettings } = {}): Promise<void> {
  try {
    const state = sources.find((s) => /\.vms[sn]$/i.test(nameOf(s)));
    const memory = sources.find((s) => s !== state) ?? state!;
    const sibling = memory !== state ? state : undefined;
    const probe = await client.call('probe', { source: memory, ...(sibling ? { sibling } : {}) });
    let settings = given.settings;
    if (probe.needsSettings && !settings) {
      settings = await askRegionSettings(nameOf(memory), remembered(nameOf(memory)));
      if (!settings) return;
      remember(nameOf(memory), settings);
    }
    say(`opening ${nameOf(memory)}…`);
    const summary = await client.call('open', { source: memory, ...(sibling ? { sibling } : {}), ...(settings ? { settings } : {}) }, (done, total, what) => say(`${what}: ${Math.round((done / total) * 100)}%`));
    // The old capture's requests still in flight are answered before its close (one Worker, in order).
    if (session !== undefined) void client.call('close', { session }).catch(() => {});
    session = summary.session;
    detailsCache.clear();
    $('capture-name').textContent = describeCapture(summary);
    hex.setFile(summary.size, summary.base === undefined ? undefined : BigInt(summary.base));
    let root = given.root ?? (summary.base ? summary.base : undefined);
    if (!root) {
      const hits = await client.call('scan', { session: summary.session }, (done, total, what) => say(`${what}: ${Math.round((done / total) * 100)}%`));
      if (!hits.length) {
        store.setTree(summary, undefined);
        say(`${summary.name}: no offload tree found by scan; type a root and press Decode`);
        return;
      }
      root = hits[0]!.address;
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
  const result = await client.call('decode', { session: summary.session, root, ...(operation ? { operation } : {}) });
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
      if (!Number.isSafeInteger(n) || n < 0 || n >= s.size) throw new Error(`${text}: not an offset in the file (0 to ${s.size - 1})`);
      hex.goTo(n);
      return say(`file offset ${hexOffset(n)}`);
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

const diffView = new DiffView({ client, store, hex, remembered, remember, selectA: (row, member) => selectMember(row, member, 'diff'), say });
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
(window as unknown as { ndisOffloadInspector: unknown }).ndisOffloadInspector = {
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
  get cursor() {
    return hex.cursor;
  },
};

tree.focus();
void openServed();
