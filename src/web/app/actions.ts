/**
 * Acting on a capture from the page: editing a member (edit.ts's dialog), undo and redo (buttons,
 * Ctrl+Z and Ctrl+Y or Ctrl+Shift+Z), completing an operation (a dialog: the operation, the
 * status of deciding blocks and per-block statuses as `complete --status/--fail` take them, a
 * preview of what each block's Status becomes, then the write), and the downloads (the capture,
 * the JSON document, the hexdumps and the structure exports: each made by the Worker with the
 * CLI's own functions). Dumps and other read-only captures refuse edits with the reason and offer
 * the tree as a region capture with its JSON document.
 */
import { ALLOWED_STATUS, OPERATIONS } from '../../layout/constants.js';
import type { CaptureSummary, CompletePreview, CompleteRequest, DownloadKind, EditState } from '../protocol.js';
import type { Client } from './client.js';
import { showError } from './dialogs.js';
import { $, el } from './dom.js';
import { editDialog, readOnlyDialog } from './edit.js';
import type { Store } from './state.js';

export interface ActionHooks {
  /** The Worker's session of the capture shown. */
  session(): number | undefined;
  /** After a write: decode again, redraw, and mark `state.changed` in the hex view. */
  refresh(state: EditState): Promise<void>;
  say(text: string): void;
}

/** The downloads, as the page lists them: what each is, and the command whose output it is. */
const DOWNLOADS: { kind: DownloadKind; label: string; command: string; writable?: boolean; readOnly?: boolean }[] = [
  { kind: 'capture', label: 'The capture, with its edits', command: 'the region file, as encode --onto and complete write it', writable: true },
  { kind: 'region', label: 'The tree as a region capture', command: 'encode of the decoded document', readOnly: true },
  { kind: 'region-json', label: "The region's JSON document", command: 'decode --json of that region', readOnly: true },
  { kind: 'json', label: 'JSON document', command: 'decode --json' },
  { kind: 'hexdump', label: 'Annotated hexdump', command: 'hexdump' },
  { kind: 'hexdump-json', label: 'Annotated hexdump as JSON', command: 'hexdump --json' },
  { kind: 'ksy', label: 'Kaitai Struct spec', command: 'export --format ksy' },
  { kind: 'hexpat', label: 'ImHex pattern', command: 'export --format hexpat' },
  { kind: 'isf', label: 'Volatility 3 symbol table (ISF)', command: 'export --format isf' },
];

/** Saves bytes as a file: a Blob behind an <a download>. */
export function saveFile(name: string, mime: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime }));
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const typing = (t: EventTarget | null): boolean => t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));

export class Actions {
  private summary: CaptureSummary | undefined;
  private state: EditState = { changed: [] };
  private readonly undoButton = el('button', { type: 'button', id: 'undo-button', text: 'Undo', 'aria-keyshortcuts': 'Control+Z', disabled: true });
  private readonly redoButton = el('button', { type: 'button', id: 'redo-button', text: 'Redo', 'aria-keyshortcuts': 'Control+Y Control+Shift+Z', disabled: true });
  private readonly editButton = el('button', { type: 'button', id: 'edit-button', text: 'Edit…', title: 'Edit the selected member (F2, Enter or double-click in the members)', 'aria-keyshortcuts': 'F2', disabled: true });
  private readonly completeButton = el('button', { type: 'button', id: 'complete-button', text: 'Complete…', title: 'Complete an operation: write every block\u2019s Status', disabled: true });
  private readonly downloadButton = el('button', { type: 'button', id: 'download-button', text: 'Download…', disabled: true });

  constructor(
    readonly element: HTMLElement,
    private readonly client: Client,
    private readonly store: Store,
    private readonly hooks: ActionHooks,
  ) {
    element.setAttribute('role', 'group');
    element.setAttribute('aria-label', 'Actions');
    element.append(this.editButton, this.undoButton, this.redoButton, this.completeButton, this.downloadButton);
    this.undoButton.addEventListener('click', () => void this.step('undo'));
    this.redoButton.addEventListener('click', () => void this.step('redo'));
    this.editButton.addEventListener('click', () => void this.editSelected());
    this.completeButton.addEventListener('click', () => void this.complete());
    this.downloadButton.addEventListener('click', () => void this.downloads());
    document.addEventListener('keydown', (e) => {
      if (document.querySelector('dialog[open]') || typing(e.target)) return;
      const ctrl = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (ctrl && !e.altKey && key === 'z' && !e.shiftKey) {
        e.preventDefault();
        void this.step('undo');
      } else if (ctrl && !e.altKey && (key === 'y' || (key === 'z' && e.shiftKey))) {
        e.preventDefault();
        void this.step('redo');
      } else if (e.key === 'F2' && !ctrl && !e.altKey) {
        e.preventDefault();
        void this.editSelected();
      }
    });
    store.on(() => this.update());
  }

  /** A capture was opened: nothing to undo yet. */
  opened(summary: CaptureSummary): void {
    this.summary = summary;
    this.state = { changed: [] };
    this.update();
  }

  /** The edits' state (for scripts and tests). */
  get editState(): EditState {
    return this.state;
  }

  private update(): void {
    const open = this.summary !== undefined && this.hooks.session() !== undefined;
    const tree = open && this.store.rows.length > 0;
    this.undoButton.disabled = !this.state.undo;
    this.undoButton.title = this.state.undo ? `Undo ${this.state.undo} (Ctrl+Z)` : 'Nothing to undo';
    this.redoButton.disabled = !this.state.redo;
    this.redoButton.title = this.state.redo ? `Redo ${this.state.redo} (Ctrl+Y)` : 'Nothing to redo';
    this.editButton.disabled = !tree || !this.store.selection?.member;
    this.completeButton.disabled = !tree;
    this.downloadButton.disabled = !tree;
  }

  private async written(state: EditState, message: string): Promise<void> {
    this.state = state;
    await this.hooks.refresh(state);
    this.update();
    this.hooks.say(`${message}; ${state.changed.length} bytes differ from the file as opened${state.undo ? ' (Ctrl+Z undoes)' : ''}`);
  }

  /** Undoes or redoes the last write (what the Worker's log holds). */
  private async step(which: 'undo' | 'redo'): Promise<void> {
    const session = this.hooks.session();
    if (session === undefined || !this.state[which]) return this.hooks.say(`nothing to ${which}`);
    try {
      const state = await this.client.call(which, { session });
      await this.written(state, state.last?.what ?? `${which === 'undo' ? 'undone' : 'redone'}`);
    } catch (e) {
      showError(e);
    }
  }

  private editSelected(): Promise<void> {
    const s = this.store.selection;
    if (!s?.member) {
      this.hooks.say('select a member to edit (in the members or the tree)');
      return Promise.resolve();
    }
    return this.edit(s.row, s.member);
  }

  /** Edits a member of a block: the dialog, then the Worker's write; a read-only capture says why not. */
  async edit(row: number, member: string): Promise<void> {
    const session = this.hooks.session();
    const summary = this.summary;
    const block = this.store.rows[row];
    if (session === undefined || !summary || !block) return;
    if (!summary.writable) {
      this.hooks.say(`${member}: not edited: the capture is read-only`);
      await readOnlyDialog(`Editing is refused: ${summary.readOnlyReason ?? `${summary.format} captures are read-only here`}.`, (kind) => this.download(kind));
      return;
    }
    try {
      const spec = await this.client.call('editSpec', { session, row, member });
      const state = await editDialog(spec, `${block.path} (${block.layer} ${block.type} at ${block.address})`, (value) => this.client.call('edit', { session, row, member, value }));
      if (state) await this.written(state, state.last?.what ?? `${member} written`);
    } catch (e) {
      showError(e);
    }
  }

  /** Downloads one of DOWNLOADS. */
  async download(kind: DownloadKind): Promise<void> {
    const session = this.hooks.session();
    if (session === undefined) return;
    try {
      const file = await this.client.call('download', { session, kind });
      saveFile(file.name, file.mime, file.bytes);
      this.hooks.say(`downloaded ${file.name} (${file.bytes.length} bytes)`);
    } catch (e) {
      showError(e);
    }
  }

  private downloads(): void {
    const writable = this.summary?.writable === true;
    const list = DOWNLOADS.filter((d) => (d.writable ? writable : d.readOnly ? !writable : true));
    const close = el('button', { type: 'button', text: 'Close' });
    const dialog = el(
      'dialog',
      { 'aria-label': 'Download', class: 'download-dialog' },
      el('h2', { text: 'Download' }),
      el('p', { class: 'muted', text: 'Each file is what the command named beside it writes for this capture, byte for byte.' }),
      el('ul', { class: 'download-list' }, ...list.map((d) => el('li', {}, el('button', { type: 'button', 'data-download': d.kind, text: d.label }), el('span', { class: 'muted', text: ` ${d.command}` })))),
      el('div', { class: 'buttons' }, close),
    );
    dialog.addEventListener('click', (e) => {
      const b = (e.target as HTMLElement).closest<HTMLElement>('[data-download]');
      if (b) void this.download(b.dataset.download as DownloadKind);
    });
    close.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.remove());
    $('dialogs').append(dialog);
    dialog.showModal();
    dialog.querySelector<HTMLElement>('[data-download]')?.focus();
  }

  /** The complete dialog: choose, preview, then write. */
  private complete(): void {
    const session = this.hooks.session();
    const summary = this.summary;
    if (session === undefined || !summary) return;
    if (!summary.writable) {
      void readOnlyDialog(`Completing is refused: ${summary.readOnlyReason ?? `${summary.format} captures are read-only here`}.`, (kind) => this.download(kind));
      return;
    }
    const rows = this.store.rows;
    const deciding = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.role !== 'placeholder');
    const current = ($('operation-select') as HTMLSelectElement).value || this.store.decoded?.operation || 'initiate';
    const operation = el('select', { name: 'operation', 'aria-label': 'Operation' }, ...OPERATIONS.map((o) => el('option', { value: o, text: o, selected: o === current })));
    const status = el('select', { name: 'status', 'aria-label': 'Status of deciding blocks (--status)' });
    const fails = el('tbody');
    const addFail = el('button', { type: 'button', text: 'Add a block\u2019s status (--fail)', class: 'add-fail' });
    const preview = el('div', { class: 'complete-preview', 'aria-live': 'polite' });
    const error = el('p', { class: 'error-text', role: 'alert' });
    const previewButton = el('button', { type: 'button', text: 'Preview', class: 'preview-button' });
    const apply = el('button', { type: 'button', text: 'Complete', class: 'primary apply-button', disabled: true });
    const cancel = el('button', { type: 'button', text: 'Cancel' });
    const statusOptions = (select: HTMLSelectElement, first: string): void => {
      const was = select.value;
      select.replaceChildren(el('option', { value: '', text: first }), ...ALLOWED_STATUS[operation.value as keyof typeof ALLOWED_STATUS].map((n) => el('option', { value: n, text: n, selected: n === was })));
    };
    const refreshStatuses = (): void => {
      statusOptions(status, 'default (NDIS_STATUS_SUCCESS)');
      for (const s of fails.querySelectorAll<HTMLSelectElement>('select[name=fail-status]')) statusOptions(s, 'choose a status');
    };
    refreshStatuses();
    const selected = this.store.selection?.row;
    addFail.addEventListener('click', () => {
      const block = el('select', { name: 'fail-block', 'aria-label': 'Block' }, ...deciding.map(({ r, i }) => el('option', { value: r.address, text: `${r.path} ${r.layer} ${r.role} ${r.address}`, selected: i === selected })));
      const st = el('select', { name: 'fail-status', 'aria-label': 'Its status' });
      statusOptions(st, 'choose a status');
      const remove = el('button', { type: 'button', text: 'Remove', 'aria-label': 'Remove this block\u2019s status' });
      const tr = el('tr', {}, el('td', {}, block), el('td', {}, st), el('td', {}, remove));
      remove.addEventListener('click', () => {
        tr.remove();
        stale();
      });
      fails.append(tr);
      stale();
      block.focus();
    });
    const request = (): CompleteRequest => {
      const fail: { address: string; status: string }[] = [];
      for (const tr of fails.querySelectorAll('tr')) {
        const address = tr.querySelector<HTMLSelectElement>('select[name=fail-block]')!.value;
        const st = tr.querySelector<HTMLSelectElement>('select[name=fail-status]')!.value;
        if (!st) throw new Error(`--fail ${address}: choose its status, or remove the line`);
        fail.push({ address, status: st });
      }
      return { session, operation: operation.value, ...(status.value ? { status: status.value } : {}), ...(fail.length ? { fail } : {}) };
    };
    let previewed: string | undefined;
    const stale = (): void => {
      previewed = undefined;
      apply.disabled = true;
      if (preview.firstChild) preview.replaceChildren(el('p', { class: 'muted', text: 'The choices changed: preview again before completing.' }));
    };
    operation.addEventListener('change', () => {
      refreshStatuses();
      stale();
    });
    dialogChange(fails, stale);
    status.addEventListener('change', stale);
    previewButton.addEventListener('click', () => {
      error.textContent = '';
      let req: CompleteRequest;
      try {
        req = request();
      } catch (e) {
        error.textContent = (e as Error).message;
        return;
      }
      this.client.call('completePreview', req).then(
        (p) => {
          preview.replaceChildren(...previewTable(p));
          previewed = JSON.stringify(req);
          apply.disabled = false;
          apply.focus();
        },
        (e: unknown) => {
          preview.replaceChildren();
          error.textContent = (e as Error).message;
        },
      );
    });
    apply.addEventListener('click', () => {
      let req: CompleteRequest;
      try {
        req = request();
      } catch (e) {
        error.textContent = (e as Error).message;
        return;
      }
      if (previewed !== JSON.stringify(req)) return stale();
      apply.disabled = true;
      this.client.call('complete', req).then(
        async (state) => {
          dialog.close();
          await this.written(state, `completed ${req.operation}: Download… saves the capture`);
        },
        (e: unknown) => {
          error.textContent = (e as Error).message;
        },
      );
    });
    cancel.addEventListener('click', () => dialog.close());
    const dialog = el(
      'dialog',
      { 'aria-label': 'Complete an operation', class: 'complete-dialog' },
      el('h2', { text: 'Complete an operation' }),
      el('p', { class: 'muted', text: 'Writes the Status of every block as an offload target must (the complete command): placeholders succeed; new offloads take the status below or their own; linkers in initiate follow their dependents. Nothing is written until you press Complete, and a status the operation does not allow is refused whole.' }),
      el('label', {}, 'Operation ', operation),
      el('label', {}, 'Status of deciding blocks ', status),
      el('table', { class: 'fail-table', 'aria-label': 'Per-block statuses' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Block' }), el('th', { scope: 'col', text: 'Status' }), el('th', { scope: 'col', text: '' }))), fails),
      addFail,
      error,
      preview,
      el('div', { class: 'buttons' }, cancel, previewButton, apply),
    );
    dialog.addEventListener('close', () => dialog.remove());
    $('dialogs').append(dialog);
    dialog.showModal();
    operation.focus();
  }
}

/** Calls `f` when a select below `root` changes. */
function dialogChange(root: HTMLElement, f: () => void): void {
  root.addEventListener('change', f);
}

/** The preview: per block its Status now and what will be written, changes marked in words as well as by style. */
function previewTable(p: CompletePreview): HTMLElement[] {
  const SHOWN = 2000;
  const changes = p.blocks.filter((b) => b.before !== b.after).length;
  const body = el('tbody');
  for (const b of p.blocks.slice(0, SHOWN)) {
    const changed = b.before !== b.after;
    body.append(
      el(
        'tr',
        { class: changed ? 'changes' : '', 'data-address': b.address },
        el('td', { text: b.path }),
        el('td', { text: `${b.layer} ${b.role}` }),
        el('td', { text: b.before }),
        el('td', { text: changed ? `→ ${b.after}` : 'unchanged' }),
      ),
    );
  }
  const statuses = Object.entries(p.byStatus)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return [
    el('p', { class: 'preview-summary', text: `complete ${p.operation} writes ${p.blocks.length} blocks' Status (${changes} of them change${changes === 1 ? 's' : ''}): ${statuses}` }),
    el(
      'table',
      { class: 'preview-table', 'aria-label': 'What completing writes' },
      el('thead', {}, el('tr', {}, ...['Block', 'Role', 'Status now', 'Will be'].map((h) => el('th', { scope: 'col', text: h })))),
      body,
    ),
    ...(p.blocks.length > SHOWN ? [el('p', { class: 'muted', text: `and ${p.blocks.length - SHOWN} more blocks` })] : []),
  ];
}
