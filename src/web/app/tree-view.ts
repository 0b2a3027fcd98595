/**
 * The tree of blocks: the WAI-ARIA tree pattern over rows drawn for the visible part only, so a
 * tree of 100,000 blocks scrolls as one of ten. A block's children are its structures (the block
 * structure, then each state part, each expanding into its members) followed by its dependents.
 * Rows are flat and absolutely placed, so each carries its place in the hierarchy itself:
 * aria-level, aria-setsize and aria-posinset count every sibling, drawn or not.
 * One tab stop: the tree element holds focus and names the active item with aria-activedescendant
 * (the active item is always drawn, even when scrolled away).
 * Keys: Up/Down, PageUp/PageDown, Home/End, Right (expand, then first child), Left (collapse, then
 * parent), Backspace (parent), Shift+Right (expand the subtree), Ctrl+Right/Left (expand/collapse
 * all), Enter (select and expand or collapse), Space (select), type-ahead on the start of an item's
 * label. Alt+arrows are left to the page (history).
 */
import type { BlockDetails, BlockRow, MemberRow } from '../protocol.js';
import { diagnosticTarget } from './diagnostics.js';
import { el } from './dom.js';
import type { Store } from './state.js';

const ROW = 22;
/** Trees of at most this many blocks open whole. */
const OPEN_WHOLE = 2000;
const SIGN = { error: '✖ error', warning: '▲ warning', info: 'ℹ note' } as const;
const RANK = { error: 3, warning: 2, info: 1 } as const;
type Severity = keyof typeof RANK;

/** A drawn (or scrolled-away) item: a block, or one member row of a block's details. */
interface Item {
  row: number;
  /** Index in the block's member rows; -1 for the block itself. */
  member: number;
  level: number;
  setsize: number;
  posinset: number;
}

/** A block's member rows with their places among their siblings. */
interface Members {
  rows: MemberRow[];
  /** Per member: number of siblings (with itself) and its 1-based position among them. */
  setsize: Int32Array;
  posinset: Int32Array;
  /** Members of depth 0 (the structures and the combined structure's padding). */
  tops: number;
  /** The worst diagnostic on each member path. */
  severity: Map<string, Severity>;
}

export interface TreeViewHooks {
  details(row: number): Promise<BlockDetails>;
  /** Called when the user selects an item (click, Enter or moving the active item). */
  onSelect(row: number, member: string | undefined): void;
  /** A block's members could not be read: say why (the block stays without member items). */
  onError(e: unknown): void;
}

export class TreeView {
  readonly element: HTMLElement;
  private readonly tree: HTMLElement;
  private readonly spacer: HTMLElement;
  private items: Item[] = [];
  /** Item index of each block row, -1 when hidden under a collapsed ancestor. */
  private itemOfRow = new Int32Array(0);
  private active = 0;
  /** Expanded blocks. */
  private readonly expanded = new Set<number>();
  /** Expanded structures and nested members, `${row}|${path}`. */
  private readonly expandedMembers = new Set<string>();
  /** Blocks whose member rows are loaded. */
  private readonly members = new Map<number, Members>();
  private readonly loading = new Map<number, Promise<void>>();
  private subtreeEnd = new Int32Array(0);
  /** 1-based position of each block among its parent's dependents (or the top level). */
  private position = new Int32Array(0);
  private topCount = 0;
  /** The worst diagnostic of each block, counting those about a block not in the tree on the block whose pointer leads there. */
  private severity = new Map<number, Severity>();
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
    this.tree.addEventListener('keydown', (e) => void this.key(e));
    this.tree.addEventListener('click', (e) => this.click(e));
    store.on((s, why) => {
      if (why === 'tree') this.reset();
      else if (s) void this.reveal(s.row, s.member);
    });
  }

  private get rows(): BlockRow[] {
    return this.store.rows;
  }

  private reset(): void {
    const rows = this.rows;
    this.expanded.clear();
    this.expandedMembers.clear();
    this.members.clear();
    this.loading.clear();
    // Pre-order: a block's subtree is the rows after it until one at its depth or above.
    this.subtreeEnd = new Int32Array(rows.length);
    this.position = new Int32Array(rows.length);
    const open: number[] = [];
    const counts = new Map<number, number>();
    rows.forEach((r, i) => {
      while (open.length && rows[open[open.length - 1]!]!.depth >= r.depth) this.subtreeEnd[open.pop()!] = i;
      open.push(i);
      const n = (counts.get(r.parent) ?? 0) + 1;
      counts.set(r.parent, n);
      this.position[i] = n;
    });
    for (const i of open) this.subtreeEnd[i] = rows.length;
    this.topCount = counts.get(-1) ?? 0;
    this.severity.clear();
    for (const x of this.store.diagnostics) {
      const at = diagnosticTarget(x, (p) => this.store.rowOfPath(p));
      if (!at) continue;
      const had = this.severity.get(at.row);
      if (!had || RANK[x.severity] > RANK[had]) this.severity.set(at.row, x.severity);
    }
    if (rows.length <= OPEN_WHOLE) rows.forEach((_, i) => this.expanded.add(i));
    this.active = 0;
    this.items = [];
    this.element.scrollTop = 0;
    this.rebuild();
  }

  /** The item index of a block, or of one of its member rows, when shown. */
  private indexOf(row: number, member = -1): number {
    const at = this.itemOfRow[row] ?? -1;
    if (at < 0 || member < 0) return at;
    for (let i = at + 1; i < this.items.length && this.items[i]!.row === row && this.items[i]!.member >= 0; i++) if (this.items[i]!.member === member) return i;
    return -1;
  }

  /**
   * Lays the items out again after an expansion changed, keeping the active item active and the
   * item at the top of the view where it was (items loaded above it do not move the view).
   */
  private rebuild(): void {
    const host = this.element;
    const activeItem = this.items[this.active];
    const topIndex = Math.floor(host.scrollTop / ROW);
    const topItem = this.items[topIndex];
    const rows = this.rows;
    const items: Item[] = [];
    const itemOfRow = new Int32Array(rows.length).fill(-1);
    for (let i = 0; i < rows.length; ) {
      const r = rows[i]!;
      const parentTops = r.parent >= 0 ? (this.members.get(r.parent)?.tops ?? 0) : 0;
      itemOfRow[i] = items.length;
      items.push({ row: i, member: -1, level: r.depth + 1, setsize: r.parent < 0 ? this.topCount : rows[r.parent]!.children + parentTops, posinset: parentTops + this.position[i]! });
      if (!this.expanded.has(i)) {
        i = this.subtreeEnd[i]!;
        continue;
      }
      const m = this.members.get(i);
      if (m) this.pushMembers(items, i, m, r);
      i++;
    }
    this.items = items;
    this.itemOfRow = itemOfRow;
    this.spacer.style.height = `${items.length * ROW}px`;
    this.active = this.find(activeItem) ?? Math.min(this.active, Math.max(0, items.length - 1));
    const newTop = this.find(topItem);
    if (newTop !== undefined && newTop !== topIndex) host.scrollTop += (newTop - topIndex) * ROW;
    this.schedule();
  }

  /** Where an item is now: itself, or its nearest shown ancestor block. */
  private find(item: Item | undefined): number | undefined {
    if (!item) return undefined;
    const at = this.indexOf(item.row, item.member);
    if (at >= 0) return at;
    for (let p = item.member >= 0 ? item.row : this.rows[item.row]?.parent ?? -1; p >= 0; p = this.rows[p]!.parent) {
      const i = this.itemOfRow[p]!;
      if (i >= 0) return i;
    }
    return undefined;
  }

  private pushMembers(items: Item[], row: number, m: Members, r: BlockRow): void {
    // Members nest by depth; a structure's members show when it is expanded.
    let skipBelow = -1;
    m.rows.forEach((x, i) => {
      if (skipBelow >= 0 && x.depth > skipBelow) return;
      skipBelow = -1;
      const top = x.depth === 0;
      items.push({ row, member: i, level: r.depth + 2 + x.depth, setsize: top ? m.tops + r.children : m.setsize[i]!, posinset: m.posinset[i]! });
      if (x.struct && !this.expandedMembers.has(`${row}|${x.path}`)) skipBelow = x.depth;
    });
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private memberOf(item: Item): MemberRow | undefined {
    return item.member < 0 ? undefined : this.members.get(item.row)?.rows[item.member];
  }

  private label(item: Item): (HTMLElement | string)[] {
    const r = this.rows[item.row]!;
    const m = this.memberOf(item);
    if (!m) {
      const parts: (HTMLElement | string)[] = [
        el('span', { class: 'layer', text: r.layer }),
        ` ${r.role} `,
        el('span', { class: 'type', text: r.type }),
        ' ',
        el('span', { class: 'status-name', text: r.status }),
        ' ',
        el('span', { class: 'muted', text: r.address }),
      ];
      const sev = this.severity.get(item.row);
      if (sev) parts.push(el('span', { class: `sev-badge sev-${sev}`, text: SIGN[sev] }));
      return parts;
    }
    const sev = this.members.get(item.row)!.severity.get(m.path);
    const badge = sev ? [el('span', { class: `sev-badge sev-${sev}`, text: SIGN[sev] })] : [];
    if (m.struct) return [el('span', { class: 'layer', text: m.name }), el('span', { class: 'muted', text: ` ${m.ctype === m.name ? '' : `${m.ctype} `}${m.depth === 0 ? `at ${m.address}` : `+0x${m.offset.toString(16)}`} (${m.size} bytes)` }), ...badge];
    const bits = m.bitWidth !== undefined ? ` :${m.bitWidth}` : '';
    return [`${m.name}${bits} `, el('span', { class: 'muted', text: m.padding ? `+0x${m.offset.toString(16)} (${m.size} bytes)` : `${m.value || m.raw}${m.meaning ? ` (${m.meaning})` : ''}` }), ...badge];
  }

  private itemText(item: Item): string {
    const m = this.memberOf(item);
    if (m) return m.name;
    const r = this.rows[item.row]!;
    return `${r.layer} ${r.role} ${r.type}`;
  }

  private isOpen(item: Item): boolean | undefined {
    if (item.member < 0) return this.expanded.has(item.row);
    const m = this.memberOf(item);
    return m?.struct ? this.expandedMembers.has(`${item.row}|${m.path}`) : undefined;
  }

  private render(): void {
    const host = this.element;
    const first = Math.max(0, Math.floor(host.scrollTop / ROW) - 4);
    const last = Math.min(this.items.length, Math.ceil((host.scrollTop + host.clientHeight) / ROW) + 4);
    const sel = this.store.selection;
    const nodes: HTMLElement[] = [];
    const draw = (i: number): void => {
      const item = this.items[i]!;
      const m = this.memberOf(item);
      const open = this.isOpen(item);
      const selected = sel !== undefined && sel.row === item.row && (item.member < 0 ? sel.member === undefined : sel.member === m?.path);
      const node = el(
        'div',
        {
          role: 'treeitem',
          id: `ti-${i}`,
          class: `row${i === this.active ? ' active' : ''}${m?.padding ? ' padding' : ''}`,
          'aria-level': item.level,
          'aria-setsize': item.setsize,
          'aria-posinset': item.posinset,
          'aria-selected': selected ? 'true' : 'false',
          'aria-expanded': open === undefined ? undefined : open ? 'true' : 'false',
          'data-item': i,
          'data-row': item.row,
          'data-member': m?.path,
        },
        el('span', { class: 'twisty', 'aria-hidden': 'true', text: open === undefined ? '' : open ? '▾' : '▸' }),
        ...this.label(item),
      );
      node.style.top = `${i * ROW}px`;
      node.style.paddingLeft = `${(item.level - 1) * 14 + 4}px`;
      nodes.push(node);
    };
    if (this.active < first && this.active < this.items.length) draw(this.active);
    for (let i = first; i < last; i++) draw(i);
    if (this.active >= last && this.active < this.items.length) draw(this.active);
    this.tree.replaceChildren(this.spacer, ...nodes);
    if (this.items.length) this.tree.setAttribute('aria-activedescendant', `ti-${this.active}`);
    else this.tree.removeAttribute('aria-activedescendant');
    // Expanded blocks on screen (and the parents of blocks on screen, whose structures count
    // among their siblings) whose members are not loaded yet: load them.
    const want = new Set<number>();
    for (let i = first; i < last; i++) {
      const item = this.items[i]!;
      if (item.member >= 0) continue;
      if (this.expanded.has(item.row)) want.add(item.row);
      const p = this.rows[item.row]!.parent;
      if (p >= 0) want.add(p);
    }
    const missing = [...want].filter((r) => !this.members.has(r) && !this.loading.has(r));
    if (missing.length) void Promise.all(missing.map((r) => this.load(r))).then(() => this.rebuild());
  }

  /** Loads a block's member rows (once); a failure leaves the block without members and is shown (onError). */
  private load(row: number): Promise<void> {
    const had = this.loading.get(row);
    if (had) return had;
    if (this.members.has(row)) return Promise.resolve();
    const p = this.hooks
      .details(row)
      .then(
        (d) => void this.members.set(row, this.describe(row, d)),
        (e) => {
          this.members.set(row, this.describe(row, { row, members: [], diagnostics: [] }));
          this.hooks.onError(e);
        },
      )
      .finally(() => this.loading.delete(row));
    this.loading.set(row, p);
    return p;
  }

  private describe(row: number, d: BlockDetails): Members {
    const rows = d.members;
    const setsize = new Int32Array(rows.length);
    const posinset = new Int32Array(rows.length);
    // Siblings: members of one depth under one parent (the last member one level up).
    const parentAt: number[] = [];
    const groups = new Map<number, number[]>();
    let tops = 0;
    rows.forEach((m, i) => {
      const parent = m.depth === 0 ? -1 : (parentAt[m.depth - 1] ?? -1);
      parentAt[m.depth] = i;
      parentAt.length = m.depth + 1;
      let g = groups.get(parent);
      if (!g) groups.set(parent, (g = []));
      g.push(i);
      if (m.depth === 0) tops++;
    });
    for (const g of groups.values()) g.forEach((i, k) => ((setsize[i] = g.length), (posinset[i] = k + 1)));
    const severity = new Map<string, Severity>();
    for (const x of this.store.diagnostics) {
      const at = diagnosticTarget(x, (p) => this.store.rowOfPath(p));
      if (at?.row !== row || !at.member) continue;
      const had = severity.get(at.member);
      if (!had || RANK[x.severity] > RANK[had]) severity.set(at.member, x.severity);
    }
    return { rows, setsize, posinset, tops, severity };
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
    // Drawn once in the next frame, after the other views have taken the selection.
    this.schedule();
  }

  private selectItem(item: Item): void {
    this.hooks.onSelect(item.row, this.memberOf(item)?.path);
  }

  private async setOpen(item: Item, open: boolean): Promise<void> {
    if (item.member < 0) {
      if (open) {
        this.expanded.add(item.row);
        await this.load(item.row);
      } else this.expanded.delete(item.row);
    } else {
      const m = this.memberOf(item);
      if (!m?.struct) return;
      const key = `${item.row}|${m.path}`;
      if (open) this.expandedMembers.add(key);
      else this.expandedMembers.delete(key);
    }
    this.rebuild();
  }

  private parentOf(i: number): number {
    const item = this.items[i]!;
    for (let j = i - 1; j >= 0; j--) if (this.items[j]!.level < item.level) return j;
    return i;
  }

  private async key(e: KeyboardEvent): Promise<void> {
    if (e.altKey || e.metaKey) return;
    const n = this.items.length;
    if (!n) return;
    const item = this.items[this.active]!;
    const page = Math.max(1, Math.floor(this.element.clientHeight / ROW) - 1);
    const open = this.isOpen(item);
    let handled = true;
    const keyName = e.key;
    if (keyName.length === 1 && keyName !== ' ' && !e.ctrlKey) {
      e.preventDefault();
      this.typeAhead(keyName);
      return;
    }
    switch (keyName) {
      case 'ArrowDown': this.setActive(this.active + 1); break;
      case 'ArrowUp': this.setActive(this.active - 1); break;
      case 'PageDown': this.setActive(this.active + page); break;
      case 'PageUp': this.setActive(this.active - page); break;
      case 'Home': this.setActive(0); break;
      case 'End': this.setActive(n - 1); break;
      case 'ArrowRight':
        e.preventDefault();
        if (e.ctrlKey) await this.expandAll(true);
        else if (e.shiftKey) await this.expandSubtree(item);
        else if (open === false) await this.setOpen(item, true);
        else if (open && this.items[this.active + 1]?.level === item.level + 1) this.setActive(this.active + 1);
        this.render();
        return;
      case 'ArrowLeft':
        e.preventDefault();
        if (e.ctrlKey) await this.expandAll(false);
        else if (open) await this.setOpen(item, false);
        else this.setActive(this.parentOf(this.active));
        this.render();
        return;
      case 'Backspace': this.setActive(this.parentOf(this.active)); break;
      case 'Enter':
        e.preventDefault();
        this.selectItem(item);
        if (open !== undefined) await this.setOpen(item, !open);
        return;
      case ' ': this.selectItem(item); break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  }

  private typeAhead(ch: string): void {
    const now = performance.now();
    this.typed = now - this.typedAt > 700 ? ch.toLowerCase() : this.typed + ch.toLowerCase();
    this.typedAt = now;
    const n = this.items.length;
    // A new search starts after the active item; a longer one may stay on it.
    const start = this.typed.length === 1 ? this.active + 1 : this.active;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.itemText(this.items[i]!).toLowerCase().startsWith(this.typed)) return this.setActive(i);
    }
  }

  private async expandSubtree(item: Item): Promise<void> {
    if (item.member >= 0) {
      // A structure and every structure inside it.
      const m = this.members.get(item.row)!;
      const root = m.rows[item.member]!;
      if (!root.struct) return;
      for (let i = item.member; i < m.rows.length && (i === item.member || m.rows[i]!.depth > root.depth); i++) if (m.rows[i]!.struct) this.expandedMembers.add(`${item.row}|${m.rows[i]!.path}`);
      return this.rebuild();
    }
    for (let i = item.row; i < this.subtreeEnd[item.row]!; i++) this.expanded.add(i);
    await this.load(item.row);
    this.rebuild();
  }

  private async expandAll(open: boolean): Promise<void> {
    if (open) for (let i = 0; i < this.rows.length; i++) this.expanded.add(i);
    else {
      this.expanded.clear();
      this.expandedMembers.clear();
    }
    this.rebuild();
    this.scrollTo(this.active);
  }

  private click(e: MouseEvent): void {
    const node = (e.target as HTMLElement).closest<HTMLElement>('[data-item]');
    if (!node) return;
    const i = Number(node.dataset.item);
    const item = this.items[i];
    if (!item) return;
    this.tree.focus();
    this.active = i;
    const open = this.isOpen(item);
    if ((e.target as HTMLElement).classList.contains('twisty') && open !== undefined) void this.setOpen(item, !open);
    else this.selectItem(item);
    this.render();
  }

  /** Makes the block (and member) shown and active: opens its ancestors and the member's structures. */
  async reveal(row: number, member?: string): Promise<void> {
    const cur = this.items[this.active];
    if (cur && cur.row === row && (member === undefined ? cur.member < 0 : this.memberOf(cur)?.path === member)) return this.schedule();
    let changed = false;
    for (let p = this.rows[row]?.parent ?? -1; p >= 0; p = this.rows[p]!.parent) {
      if (!this.expanded.has(p)) {
        this.expanded.add(p);
        changed = true;
      }
    }
    let index = -1;
    if (member) {
      if (!this.expanded.has(row)) {
        this.expanded.add(row);
        changed = true;
      }
      await this.load(row);
      const m = this.members.get(row)!;
      index = m.rows.findIndex((x) => x.path === member);
      // Open each structure above the member.
      if (index >= 0) {
        let depth = m.rows[index]!.depth;
        for (let i = index - 1; i >= 0 && depth > 0; i--) {
          const x = m.rows[i]!;
          if (x.depth < depth) {
            depth = x.depth;
            const key = `${row}|${x.path}`;
            if (!this.expandedMembers.has(key)) {
              this.expandedMembers.add(key);
              changed = true;
            }
          }
        }
      }
    }
    if (changed || this.indexOf(row, index) < 0) this.rebuild();
    const i = this.indexOf(row, index);
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
