/**
 * The details of the selected block: every member with its C name, offset, size, type, stored
 * bytes, the document's value and its meaning, as `layout` and `decode` print them. Pointers are
 * links: to the block they point to, or to their target's bytes.
 */
import type { BlockDetails, MemberRow } from '../protocol.js';
import { el, hexOffset } from './dom.js';
import type { Store } from './state.js';

export interface DetailsHooks {
  details(row: number): Promise<BlockDetails>;
  onSelectMember(row: number, member: string): void;
  /** A pointer was followed. */
  onFollow(target: string, from: { row: number; member: string }): void;
  /** Enter or a double-click on a member row (not a structure or padding): edit it. */
  onEdit?(row: number, member: string): void;
}

export class DetailsView {
  private shown: BlockDetails | undefined;
  /** The latest show(): an older one still waiting for its details draws nothing. */
  private request = 0;

  constructor(
    readonly element: HTMLElement,
    private readonly store: Store,
    private readonly hooks: DetailsHooks,
  ) {
    store.on((s, why) => {
      if (why === 'tree' || !s) {
        this.shown = undefined;
        this.drawnRow = -1;
        this.body = undefined;
        element.replaceChildren(el('p', { class: 'muted', text: 'Select a block to see its members.' }));
        return;
      }
      void this.show(s.row, s.member);
    });
    element.addEventListener('click', (e) => {
      const t = e.target as HTMLElement;
      const follow = t.closest<HTMLElement>('[data-target]');
      if (follow && this.shown) {
        this.hooks.onFollow(follow.dataset.target!, { row: this.shown.row, member: follow.dataset.member! });
        return;
      }
      const tr = t.closest<HTMLElement>('tr[data-member]');
      if (tr && this.shown) this.hooks.onSelectMember(this.shown.row, tr.dataset.member!);
    });
    const edit = (e: Event): void => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-member]');
      if (!tr || !this.shown || !this.hooks.onEdit || tr.classList.contains('struct') || tr.classList.contains('padding')) return;
      e.preventDefault();
      this.hooks.onEdit(this.shown.row, tr.dataset.member!);
    };
    // A double-click is a click with detail 2: the first click re-draws the table (it selects), so no dblclick event follows.
    element.addEventListener('click', (e) => {
      if (e.detail === 2) edit(e);
    });
    // One tab stop in the table (the selected row); Up/Down/Home/End select the next member.
    element.addEventListener('keydown', (e) => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-member]');
      if (!tr || !this.shown || e.altKey || e.ctrlKey || e.metaKey || (e.target as HTMLElement).tagName === 'BUTTON') return;
      const rows = [...(tr.parentElement?.children ?? [])] as HTMLElement[];
      const at = rows.indexOf(tr);
      const to = e.key === 'ArrowDown' ? at + 1 : e.key === 'ArrowUp' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? rows.length - 1 : undefined;
      if (to === undefined) {
        // Enter follows the row's pointer, or edits its member (F2 edits a pointer too).
        if (e.key === 'Enter') {
          const target = tr.querySelector<HTMLElement>('[data-target]');
          if (target) target.click();
          else edit(e);
        }
        return;
      }
      e.preventDefault();
      const next = rows[Math.max(0, Math.min(rows.length - 1, to))];
      if (next) {
        this.focusAfterShow = true;
        this.hooks.onSelectMember(this.shown.row, next.dataset.member!);
      }
    });
  }

  /** The member rows shown (for other views). */
  get members(): MemberRow[] {
    return this.shown?.members ?? [];
  }

  private focusAfterShow = false;

  async show(row: number, member: string | undefined): Promise<void> {
    const id = ++this.request;
    if (this.shown?.row !== row) {
      const d = await this.hooks.details(row);
      if (id !== this.request) return;
      this.shown = d;
    }
    const d = this.shown;
    const block = this.store.rows[row];
    if (!d || !block) return;
    // The block's table is up: only the selected row changes (no new table for each member).
    if (this.drawnRow === row && this.body) return this.mark(this.body, member);
    const head = el('h2', { text: `${block.path} · ${block.layer} ${block.role} ${block.type} ${block.status} at ${block.address}${block.offset === null ? '' : ` (file offset ${hexOffset(block.offset)})`}` });
    const table = el('table', { 'aria-label': `Members of ${block.path}` });
    table.append(el('thead', {}, el('tr', {}, ...['Member', 'Offset', 'Size', 'Type', 'Bytes', 'Value', 'Meaning'].map((h) => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const m of d.members) {
      const selected = member !== undefined && m.path === member;
      const tr = el('tr', { 'data-member': m.path, class: `${m.struct ? 'struct' : ''}${m.padding ? ' padding' : ''}${selected ? ' selected' : ''}`, 'aria-selected': selected ? 'true' : undefined, tabindex: selected ? 0 : -1 });
      const name = el('td');
      name.style.paddingLeft = `${6 + m.depth * 14}px`;
      name.textContent = m.name;
      const offset = m.bitWidth !== undefined ? `+0x${m.offset.toString(16)} bits ${m.bitOffset}..${m.bitOffset! + m.bitWidth - 1} (width ${m.bitWidth})` : `+0x${m.offset.toString(16)}`;
      const meaning = el('td', { text: m.meaning });
      if (m.target) {
        const rowOfTarget = this.store.rowAt(m.target);
        const label = rowOfTarget !== undefined ? `→ ${this.store.rows[rowOfTarget]!.path}` : `→ ${m.target}`;
        meaning.replaceChildren(el('button', { type: 'button', class: 'link', 'data-target': m.target, 'data-member': m.path, text: label, 'aria-label': `Follow ${m.name} to ${m.target}` }), m.meaning ? ` ${m.meaning}` : '');
      }
      tr.append(name, el('td', { class: 'offset', text: offset }), el('td', { class: 'size', text: String(m.size) }), el('td', { class: 'ctype', text: m.ctype }), el('td', { class: 'raw', text: m.raw }), el('td', { class: 'value', text: m.value }), meaning);
      meaning.classList.add('meaning');
      body.append(tr);
    }
    table.append(body);
    const diags = d.diagnostics.length ? el('ul', {}, ...d.diagnostics.map((x) => el('li', { class: `sev-${x.severity}`, text: `${x.severity} ${x.code}: ${x.message}` }))) : undefined;
    // Focus inside the pane (a followed link, a row) moves to the new table's row, not to the page.
    const hadFocus = this.element.contains(document.activeElement);
    this.element.replaceChildren(head, ...(diags ? [diags] : []), table);
    this.drawnRow = row;
    this.body = body;
    if (hadFocus) this.focusAfterShow = true;
    this.mark(body, member);
  }

  /** The table drawn, and for which block (another selection in it only moves the mark). */
  private drawnRow = -1;
  private body: HTMLElement | undefined;

  private mark(body: HTMLElement, member: string | undefined): void {
    for (const tr of body.querySelectorAll<HTMLElement>('tr.selected, tr[tabindex="0"]')) {
      tr.classList.remove('selected');
      tr.removeAttribute('aria-selected');
      tr.setAttribute('tabindex', '-1');
    }
    const selected = member === undefined ? null : body.querySelector<HTMLElement>(`tr[data-member="${CSS.escape(member)}"]`);
    if (selected) {
      selected.classList.add('selected');
      selected.setAttribute('aria-selected', 'true');
    }
    (selected ?? (body.firstElementChild as HTMLElement | null))?.setAttribute('tabindex', '0');
    selected?.scrollIntoView({ block: 'nearest' });
    if (this.focusAfterShow) (selected ?? (body.firstElementChild as HTMLElement | null))?.focus();
    this.focusAfterShow = false;
  }
}
