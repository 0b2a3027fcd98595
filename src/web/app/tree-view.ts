/**
 * The tree of blocks: the WAI-ARIA tree pattern over rows drawn for the visible part only, so a
 * tree of 100,000 blocks scrolls as one of ten. A block expands into its structures (the block
 * structure, then each state part, each expanding into its members) and its dependents. One tab
 * stop: the tree element holds focus and names the active item with aria-activedescendant.
 * Keys: Up/Down, PageUp/PageDown, Home/End, Right (expand, then first child), Left (collapse, then
 * parent), Backspace (parent), Shift+Right (expand the subtree), Ctrl+Right/Left (expand/collapse
 * all), Enter (select), type-ahead on the first letters of an item.
 */
import type { BlockDetails, BlockRow, MemberRow } from '../protocol.js';
import { el } from './dom.js';
import type { Store } from './state.js';

const ROW = 22;

/** A visible item: a block row, or a member row of a block's details. */
interface Item {
  row: number;
  /** Index in the block's member rows, for a member item. */
  member?: number;
  level: number;
  expandable: boolean;
  setsize: number;
  posinset: number;
}

export interface TreeViewHooks {
  details(row: number): Promise<BlockDetails>;
  /** Called when the user selects an item (click, Enter or moving the active item). */
  onSelect(row: number, member: string | undefined): void;
}

export class TreeView {
  readonly element: HTMLElement;
  private readonly tree: HTMLElement;
  private readonly spacer: HTMLElement;
  private items: Item[] = [];
  private active = 0;
  /** Expanded blocks. */
  private readonly expanded = new Set<number>();
  /** Expanded structures and nested members, `${row}|${path}`. */
  private readonly expandedMembers = new Set<string>();
  /** Blocks whose member items are shown (their structures group is open). */
  private readonly details = new Map<number, MemberRow[]>();
  private subtreeEnd: Int32Array = new Int32Array(0);
  private typed = '';
  private typedAt = 0;
  private frame = 0;

  constructor(
    host: HTMLElement,
    private readonly store: Store,
    private readonly hooks: TreeViewHooks,
  ) {
    this.element = host;
    this.tree = el('div', { role: 'tree', 'aria-label': 'Blocks of the offload tree', tabindex: 0 });
    this.spacer = el('div', { class: 'spacer-rows', 'aria-hidden': 'true' });
    this.tree.append(this.spacer);
    host.append(this.tree);
    host.addEventListener('scroll', () => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(host);
    this.tree.addEventListener('keydown', (e) => this.key(e));
    this.tree.addEventListener('click', (e) => this.click(e));
    store.on((s, why) => {
      if (why === 'tree') this.reset();
      else if (s) this.reveal(s.row, s.member);
    });
  }

  private get rows(): BlockRow[] {
    return this.store.rows;
  }

  private reset(): void {
    const rows = this.rows;
    this.expanded.clear();
    this.expandedMembers.clear();
    this.details.clear();
    // Pre-order: a block's subtree is the rows after it until one at its depth or above.
    this.subtreeEnd = new Int32Array(rows.length);
    const open: number[] = [];
    rows.forEach((r, i) => {
      while (open.length && rows[open[open.length - 1]!]!.depth >= r.depth) this.subtreeEnd[open.pop()!] = i;
      open.push(i);
    });
    for (const i of open) this.subtreeEnd[i] = rows.length;
    // Small trees open whole; large ones at their top level.
    if (rows.length <= 2000) rows.forEach((r, i) => r.children && this.expanded.add(i));
    this.active = 0;
    this.rebuild();
  }

  private rebuild(): void {
    const rows = this.rows;
    const items: Item[] = [];
    const topCount = rows.reduce((n, r) => n + (r.depth === 0 ? 1 : 0), 0);
    const pos = new Int32Array(rows.length);
    const seen = new Map<number, number>();
    rows.forEach((r, i) => {
      const k = r.parent;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      pos[i] = n;
    });
    for (let i = 0; i < rows.length; ) {
      const r = rows[i]!;
      const members = this.details.get(i);
      items.push({ row: i, level: r.depth + 1, expandable: true, setsize: r.parent < 0 ? topCount : rows[r.parent]!.children, posinset: pos[i]! });
      if (!this.expanded.has(i)) {
        i = this.subtreeEnd[i]!;
        continue;
      }
      if (members) this.pushMembers(items, i, members, r.depth + 2);
      i++;
    }
    this.items = items;
    this.active = Math.min(this.active, Math.max(0, items.length - 1));
    this.spacer.style.height = `${items.length * ROW}px`;
    this.schedule();
  }

  private pushMembers(items: Item[], row: number, members: MemberRow[], level: number): void {
    // Members nest by depth; a structure row's members show when it is expanded.
    const tops = members.map((m, i) => ({ m, i })).filter(({ m }) => m.depth === 0);
    let skipBelow = -1;
    members.forEach((m, i) => {
      if (skipBelow >= 0 && m.depth > skipBelow) return;
      skipBelow = -1;
      const expandable = m.struct;
      const count = m.depth === 0 ? tops.length : 0;
      items.push({ row, member: i, level: level + m.depth, expandable, setsize: count || 1, posinset: m.depth === 0 ? tops.findIndex((t) => t.i === i) + 1 : 1 });
      if (expandable && !this.expandedMembers.has(`${row}|${m.path}`)) skipBelow = m.depth;
    });
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private label(item: Item): HTMLElement[] {
    const r = this.rows[item.row]!;
    if (item.member === undefined) {
      const parts = [
        el('span', { class: 'layer', text: r.layer }),
        el('span', { text: ` ${r.role} ${r.type} ` }),
        el('span', { class: 'muted', text: `${r.status} ${r.address}` }),
      ];
      if (r.severity) parts.push(el('span', { class: `sev-badge sev-${r.severity}`, text: r.severity === 'error' ? '✖ error' : r.severity === 'warning' ? '▲ warning' : 'ℹ note' }));
      return parts;
    }
    const m = this.details.get(item.row)![item.member]!;
    if (m.struct) return [el('span', { class: 'layer', text: m.depth === 0 ? m.name : m.name }), el('span', { class: 'muted', text: ` ${m.ctype === m.name ? '' : m.ctype} +${m.offset} (${m.size} bytes)` })];
    return [el('span', { text: `${m.name} ` }), el('span', { class: 'muted', text: `${m.value}${m.meaning ? ` (${m.meaning})` : ''}` })];
  }

  private itemText(item: Item): string {
    const r = this.rows[item.row]!;
    if (item.member === undefined) return `${r.layer} ${r.role} ${r.type}`;
    return this.details.get(item.row)![item.member]!.name;
  }

  private render(): void {
    const host = this.element;
    const first = Math.max(0, Math.floor(host.scrollTop / ROW) - 4);
    const last = Math.min(this.items.length, Math.ceil((host.scrollTop + host.clientHeight) / ROW) + 4);
    const sel = this.store.selection;
    const nodes: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const item = this.items[i]!;
      const m = item.member === undefined ? undefined : this.details.get(item.row)?.[item.member];
      const open = item.member === undefined ? this.expanded.has(item.row) : m?.struct ? this.expandedMembers.has(`${item.row}|${m.path}`) : undefined;
      const selected = sel !== undefined && sel.row === item.row && (item.member === undefined ? sel.member === undefined : sel.member === m?.path);
      const node = el(
        'div',
        {
          role: 'treeitem',
          id: `ti-${i}`,
          class: `row${i === this.active ? ' active' : ''}`,
          'aria-level': item.level,
          'aria-setsize': item.setsize,
          'aria-posinset': item.posinset,
          'aria-selected': selected ? 'true' : 'false',
          'aria-expanded': item.expandable ? (open ? 'true' : 'false') : undefined,
          'data-item': i,
        },
        el('span', { class: 'twisty', 'aria-hidden': 'true', text: item.expandable ? (open ? '▾' : '▸') : '' }),
        ...this.label(item),
      );
      node.style.top = `${i * ROW}px`;
      node.style.paddingLeft = `${(item.level - 1) * 14 + 4}px`;
      nodes.push(node);
    }
    this.tree.replaceChildren(this.spacer, ...nodes);
    // Expanded blocks on screen whose structures are not loaded yet: load them (visible ones only).
    for (let i = first; i < last; i++) {
      const item = this.items[i]!;
      if (item.member === undefined && this.expanded.has(item.row) && !this.details.has(item.row) && !this.loading.has(item.row)) void this.load(item.row);
    }
    if (this.items.length) this.tree.setAttribute('aria-activedescendant', `ti-${this.active}`);
    else this.tree.removeAttribute('aria-activedescendant');
  }

  private readonly loading = new Set<number>();

  private async load(row: number): Promise<void> {
    this.loading.add(row);
    try {
      this.details.set(row, (await this.hooks.details(row)).members);
    } catch {
      this.details.set(row, []);
    } finally {
      this.loading.delete(row);
    }
    const keep = this.items[this.active];
    this.rebuild();
    if (keep) this.active = Math.max(0, this.items.findIndex((x) => x.row === keep.row && x.member === keep.member));
  }

  private scrollTo(i: number): void {
    const host = this.element;
    const top = i * ROW;
    if (top < host.scrollTop) host.scrollTop = top;
    else if (top + ROW > host.scrollTop + host.clientHeight) host.scrollTop = top + ROW - host.clientHeight;
  }

  private setActive(i: number, select = true): void {
    if (!this.items.length) return;
    this.active = Math.max(0, Math.min(this.items.length - 1, i));
    this.scrollTo(this.active);
    if (select) this.selectItem(this.items[this.active]!);
    this.render();
  }

  private selectItem(item: Item): void {
    const m = item.member === undefined ? undefined : this.details.get(item.row)?.[item.member];
    this.hooks.onSelect(item.row, m && !m.struct ? m.path : m?.path);
  }

  private async toggle(item: Item, open?: boolean): Promise<void> {
    if (item.member === undefined) {
      const now = this.expanded.has(item.row);
      const want = open ?? !now;
      if (want === now) return;
      if (want) {
        this.expanded.add(item.row);
        if (!this.details.has(item.row)) this.details.set(item.row, (await this.hooks.details(item.row)).members);
      } else this.expanded.delete(item.row);
    } else {
      const m = this.details.get(item.row)![item.member]!;
      if (!m.struct) return;
      const key = `${item.row}|${m.path}`;
      const want = open ?? !this.expandedMembers.has(key);
      if (want) this.expandedMembers.add(key);
      else this.expandedMembers.delete(key);
    }
    const keep = this.items[this.active];
    this.rebuild();
    if (keep) this.active = Math.max(0, this.items.findIndex((x) => x.row === keep.row && x.member === keep.member));
    this.render();
  }

  private parentOf(i: number): number {
    const item = this.items[i]!;
    for (let j = i - 1; j >= 0; j--) if (this.items[j]!.level < item.level) return j;
    return i;
  }

  private async key(e: KeyboardEvent): Promise<void> {
    const n = this.items.length;
    if (!n) return;
    const item = this.items[this.active]!;
    const page = Math.max(1, Math.floor(this.element.clientHeight / ROW) - 1);
    const isOpen = item.member === undefined ? this.expanded.has(item.row) : this.expandedMembers.has(`${item.row}|${this.details.get(item.row)![item.member]!.path}`);
    let handled = true;
    switch (e.key) {
      case 'ArrowDown': this.setActive(this.active + 1); break;
      case 'ArrowUp': this.setActive(this.active - 1); break;
      case 'PageDown': this.setActive(this.active + page); break;
      case 'PageUp': this.setActive(this.active - page); break;
      case 'Home': this.setActive(0); break;
      case 'End': this.setActive(n - 1); break;
      case 'ArrowRight':
        if (e.ctrlKey) await this.expandAll(true);
        else if (e.shiftKey) await this.expandSubtree(item);
        else if (item.expandable && !isOpen) await this.toggle(item, true);
        else if (item.expandable && this.items[this.active + 1]?.level === item.level + 1) this.setActive(this.active + 1);
        break;
      case 'ArrowLeft':
        if (e.ctrlKey) await this.expandAll(false);
        else if (item.expandable && isOpen) await this.toggle(item, false);
        else this.setActive(this.parentOf(this.active));
        break;
      case 'Backspace': this.setActive(this.parentOf(this.active)); break;
      case 'Enter': case ' ': this.selectItem(item); if (item.expandable) await this.toggle(item); break;
      default:
        if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) this.typeAhead(e.key);
        else handled = false;
    }
    if (handled) e.preventDefault();
  }

  private typeAhead(ch: string): void {
    const now = performance.now();
    this.typed = now - this.typedAt > 700 ? ch.toLowerCase() : this.typed + ch.toLowerCase();
    this.typedAt = now;
    const n = this.items.length;
    const start = this.typed.length === 1 ? this.active + 1 : this.active;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.itemText(this.items[i]!).toLowerCase().startsWith(this.typed)) return this.setActive(i);
    }
  }

  private async expandSubtree(item: Item): Promise<void> {
    if (item.member !== undefined) return this.toggle(item, true);
    const end = this.subtreeEnd[item.row]!;
    for (let i = item.row; i < end; i++) if (this.rows[i]!.children) this.expanded.add(i);
    await this.toggle(item, true);
    this.rebuild();
  }

  private async expandAll(open: boolean): Promise<void> {
    if (open) this.rows.forEach((r, i) => r.children && this.expanded.add(i));
    else this.expanded.clear();
    this.rebuild();
  }

  private click(e: MouseEvent): void {
    const node = (e.target as HTMLElement).closest<HTMLElement>('[data-item]');
    if (!node) return;
    const i = Number(node.dataset.item);
    const item = this.items[i]!;
    this.tree.focus();
    this.active = i;
    if ((e.target as HTMLElement).classList.contains('twisty')) void this.toggle(item);
    else this.selectItem(item);
    this.render();
  }

  /** Makes the block (and member) visible and active: opens its ancestors and its structures. */
  async reveal(row: number, member?: string): Promise<void> {
    for (let p = this.rows[row]?.parent ?? -1; p >= 0; p = this.rows[p]!.parent) this.expanded.add(p);
    if (member) {
      this.expanded.add(row);
      if (!this.details.has(row)) this.details.set(row, (await this.hooks.details(row)).members);
      // Open each structure on the member's path.
      const parts = member.split('.');
      for (let k = 1; k < parts.length; k++) this.expandedMembers.add(`${row}|${parts.slice(0, k).join('.')}`);
    }
    this.rebuild();
    const i = this.items.findIndex((x) => x.row === row && (member === undefined ? x.member === undefined : this.details.get(row)?.[x.member ?? -1]?.path === member));
    if (i >= 0) {
      this.active = i;
      this.scrollTo(i);
    }
    this.render();
  }

  focus(): void {
    this.tree.focus();
  }
}
