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

  constructor(
    readonly element: HTMLElement,
    private readonly store: Store,
    private readonly hooks: DetailsHooks,
  ) {
    store.on((s, why) => {
      if (why === 'tree' || !s) {
        this.shown = undefined;
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
    element.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.target as HTMLElement).matches('tr[data-member]')) edit(e);
    });
  }

  /** The member rows shown (for other views). */
  get members(): MemberRow[] {
    return this.shown?.members ?? [];
  }

  async show(row: number, member: string | undefined): Promise<void> {
    if (this.shown?.row !== row) this.shown = await this.hooks.details(row);
    const d = this.shown;
    const block = this.store.rows[row];
    if (!d || !block) return;
    const head = el('h2', { text: `${block.path} · ${block.layer} ${block.role} ${block.type} at ${block.address}${block.offset === null ? '' : ` (file offset ${hexOffset(block.offset)})`}` });
    const table = el('table', { 'aria-label': `Members of ${block.path}` });
    table.append(el('thead', {}, el('tr', {}, ...['Member', 'Offset', 'Size', 'Type', 'Bytes', 'Value', 'Meaning'].map((h) => el('th', { scope: 'col', text: h })))));
    const body = el('tbody');
    for (const m of d.members) {
      const selected = member !== undefined && m.path === member;
      const tr = el('tr', { 'data-member': m.path, class: `${m.struct ? 'struct' : ''}${m.padding ? ' padding' : ''}${selected ? ' selected' : ''}`, 'aria-selected': selected ? 'true' : undefined, tabindex: selected ? 0 : -1 });
      const name = el('td');
      name.style.paddingLeft = `${6 + m.depth * 14}px`;
      name.textContent = m.name;
      const offset = m.bitWidth !== undefined ? `+0x${m.offset.toString(16)} bits ${m.bitOffset}..${m.bitOffset! + m.bitWidth - 1}` : `+0x${m.offset.toString(16)}`;
      const meaning = el('td', { text: m.meaning });
      if (m.target) {
        const rowOfTarget = this.store.rowAt(m.target);
        const label = rowOfTarget !== undefined ? `→ ${this.store.rows[rowOfTarget]!.path}` : `→ ${m.target}`;
        meaning.replaceChildren(el('button', { type: 'button', class: 'link', 'data-target': m.target, 'data-member': m.path, text: label, 'aria-label': `Follow ${m.name} to ${m.target}` }), m.meaning ? ` ${m.meaning}` : '');
      }
      tr.append(name, el('td', { text: offset }), el('td', { text: String(m.size) }), el('td', { text: m.ctype }), el('td', { text: m.raw }), el('td', { text: m.value }), meaning);
      body.append(tr);
    }
    table.append(body);
    const diags = d.diagnostics.length ? el('ul', {}, ...d.diagnostics.map((x) => el('li', { class: `sev-${x.severity}`, text: `${x.severity} ${x.code}: ${x.message}` }))) : undefined;
    this.element.replaceChildren(head, ...(diags ? [diags] : []), table);
    body.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }
}
