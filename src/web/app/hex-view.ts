/**
 * The hex view over the whole capture file: address (file offset, and for a region the virtual
 * address), hex and ASCII columns, each byte marked by what owns it and naming its owner on hover
 * (title) and in the status line. Marks never rest on colour alone: the selected member is
 * outlined and bold, the rest of the selected block underlined twice as thick as other blocks'
 * bytes, padding dotted-underlined and italic, bytes no block owns not underlined at all (their
 * title says "not in the tree"), and a legend under the view says which is which.
 *
 * Browsers cap an element's height near 33 million pixels (16 bytes a 18 px row: 29 MB), so the
 * rows are drawn by this code for the visible part only, against a scrollbar whose range is scaled
 * to the file: position p of the bar shows row p × (rows − visible) / range. The DOM holds one
 * screen of rows whatever the file's size.
 *
 * A grid with one tab stop (aria-activedescendant names the cursor's cell): arrows,
 * PageUp/PageDown, Home/End (row), Ctrl+Home/End (file) move the cursor, Shift with any of them
 * extends a byte range from where it started (Escape clears it), Enter selects the member under
 * the cursor; Ctrl+F, F3 and Shift+F3 find bytes or text (hex-find.ts).
 */
import type { ByteSpan, BytesResult } from '../protocol.js';
import { el, hexOffset } from './dom.js';
import type { Store } from './state.js';

export const BYTES_PER_ROW = 16;
export const ROW_PX = 18;
/** The scrollbar's range in pixels: well under every browser's cap. */
export const MAX_SCROLL_PX = 4_000_000;

export interface HexViewHooks {
  bytes(offset: number, length: number): Promise<BytesResult>;
  /** Clicking or Enter on a byte: select what owns it. */
  onPick(offset: number, span: ByteSpan | undefined): void;
  /** The cursor moved: say where it is (the status line). */
  onCursor(offset: number, value: number | undefined, span: ByteSpan | undefined): void;
  /** A byte range was marked with Shift: say how long it is. */
  onRange?(from: number, to: number): void;
  /** Ctrl+F, F3, Shift+F3, and Escape while a search runs (true: it stopped one). */
  onFind?(what: 'ask' | 'next' | 'previous' | 'cancel'): boolean | void;
}

/** The id of the grid cell of the byte at `offset` (aria-activedescendant). */
/** A byte cell's id: unique per grid (the diff's B view is a second grid on the page). */
export const cellId = (offset: number, grid = 'hex'): string => `${grid}-b-${offset}`;

export class HexView {
  private readonly rowsEl: HTMLElement;
  private readonly scrollEl: HTMLElement;
  private readonly scrollInner: HTMLElement;
  private size = 0;
  private base: bigint | undefined;
  private firstRow = 0;
  cursor = 0;
  /** Where a Shift range started (the other end is the cursor), or undefined. */
  anchor: number | undefined;
  private window: BytesResult | undefined;
  private request = 0;
  /** The bar position this view set last: a scroll event that finds the bar there is its own. */
  private barTop = 0;
  /** The cursor moved by key to bytes not read yet: announce it when they are drawn. */
  private announce = false;
  /** File offsets of bytes changed by edits (marked in the view). */
  changed = new Set<number>();
  /** Rows that fit, from the last resize (reading the height at every key or scroll would force a layout each time). */
  private rowsVisible = 1;
  /** A draw asked for the next frame. */
  private frame = 0;
  /** The byte under the pointer, last announced. */
  private hovered: number | undefined;
  /** The bar position this view wrote last. */
  private barWritten = 0;
  /** A bar position to write at the next frame. */
  private barFrame = 0;
  /** The bar's scrollTop range, from the last resize or new file. */
  private barRange = 0;

  constructor(
    readonly element: HTMLElement,
    private readonly store: Store,
    private readonly hooks: HexViewHooks,
  ) {
    element.setAttribute('role', 'grid');
    element.setAttribute('aria-label', 'Bytes of the capture');
    element.setAttribute('aria-readonly', 'true');
    element.setAttribute('aria-colcount', String(BYTES_PER_ROW + 1));
    element.tabIndex = 0;
    this.rowsEl = el('div', { class: 'rows', role: 'rowgroup' });
    this.scrollInner = el('div');
    this.scrollEl = el('div', { class: 'scroll', 'aria-hidden': 'true', tabindex: -1 }, this.scrollInner);
    element.append(this.rowsEl, this.scrollEl);
    element.after(
      el(
        'p',
        { class: 'hex-legend', 'aria-hidden': 'true' },
        el('span', { class: 'b in-member', text: 'selected member' }),
        ' ',
        el('span', { class: 'b in-block', text: 'selected block' }),
        ' ',
        el('span', { class: 'b owned', text: 'other block' }),
        ' ',
        el('span', { class: 'b pad owned', text: 'padding' }),
        ' ',
        el('span', { class: 'b free', text: 'not in the tree' }),
      ),
    );
    this.scrollEl.addEventListener('scroll', () => {
      const top = this.scrollEl.scrollTop;
      // This view's own writes, and anything before a write still to come, are not the user's.
      if (this.barFrame || Math.abs(top - this.barWritten) < 1) return;
      this.barTop = top;
      this.barWritten = top;
      const range = this.scrollEl.scrollHeight - this.scrollEl.clientHeight;
      this.barRange = range;
      this.firstRow = range > 0 ? Math.round((Math.min(top, range) / range) * this.maxFirstRow()) : 0;
      void this.refresh();
    });
    element.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        this.scrollRows(Math.sign(e.deltaY) * Math.max(1, Math.round(Math.abs(e.deltaY) / ROW_PX)));
      },
      { passive: false },
    );
    element.addEventListener('keydown', (e) => this.key(e));
    element.addEventListener('click', (e) => {
      const o = this.offsetOfEvent(e);
      if (o === undefined) return;
      if (e.shiftKey) {
        this.anchor ??= this.cursor;
        this.cursor = o;
        this.draw();
        this.hooks.onRange?.(Math.min(this.anchor, o), Math.max(this.anchor, o));
        return;
      }
      this.cursor = o;
      this.anchor = undefined;
      this.hooks.onPick(o, this.spanAt(o));
      this.draw();
    });
    // Hover names the byte under the pointer when the pointer moves: the browser also sends
    // mouseover when rows are redrawn under a resting pointer, which must not overwrite what the
    // keyboard's cursor announced.
    let pointer = '';
    element.addEventListener('mousemove', (e) => {
      const at = `${e.clientX},${e.clientY}`;
      if (at === pointer) return;
      pointer = at;
      const o = this.offsetOfEvent(e);
      if (o !== undefined && o !== this.hovered) {
        this.hovered = o;
        this.hooks.onCursor(o, this.byteAt(o), this.spanAt(o));
      }
    });
    element.addEventListener('mouseleave', () => {
      this.hovered = undefined;
    });
    new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]!.contentRect;
      this.rowsVisible = Math.max(1, Math.floor(box.height / ROW_PX));
      this.barRange = this.scrollEl.scrollHeight - this.scrollEl.clientHeight;
      void this.refresh();
    }).observe(this.rowsEl);
    // A new selection is drawn at the next frame, unless the bytes it moves to come first (then only they are drawn).
    store.on(() => {
      if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
    });
  }

  /** A new capture: its size, and for a region the virtual address of its first byte. */
  setFile(size: number, base: bigint | undefined): void {
    this.size = size;
    this.base = base;
    this.firstRow = 0;
    this.cursor = 0;
    this.anchor = undefined;
    this.window = undefined;
    this.changed.clear();
    this.scrollInner.style.height = `${Math.min(MAX_SCROLL_PX, this.totalRows() * ROW_PX)}px`;
    this.scrollEl.scrollTop = 0;
    this.barTop = 0;
    this.barWritten = 0;
    this.element.setAttribute('aria-rowcount', String(this.totalRows()));
    this.rowsVisible = Math.max(1, Math.floor((this.rowsEl.clientHeight - 4) / ROW_PX));
    this.barRange = this.scrollEl.scrollHeight - this.scrollEl.clientHeight;
    void this.refresh();
  }

  /** The byte range marked with Shift, inclusive, or undefined. */
  get range(): { from: number; to: number } | undefined {
    return this.anchor === undefined ? undefined : { from: Math.min(this.anchor, this.cursor), to: Math.max(this.anchor, this.cursor) };
  }

  private totalRows(): number {
    return Math.ceil(this.size / BYTES_PER_ROW);
  }

  private visibleRows(): number {
    return this.rowsVisible;
  }

  private maxFirstRow(): number {
    return Math.max(0, this.totalRows() - this.visibleRows());
  }

  private scrollRows(delta: number): void {
    this.firstRow = Math.max(0, Math.min(this.maxFirstRow(), this.firstRow + delta));
    this.syncBar();
    void this.refresh();
  }

  /** Puts the bar where the first row shown is (its own scroll event is then ignored). */
  private syncBar(): void {
    const max = this.maxFirstRow();
    const top = max > 0 ? Math.round((this.firstRow / max) * this.barRange) : 0;
    if (top === this.barTop) return;
    // Written at the next frame and not read back: either would otherwise force a layout at every step.
    this.barTop = top;
    if (!this.barFrame) {
      this.barFrame = requestAnimationFrame(() => {
        this.barFrame = 0;
        this.scrollEl.scrollTop = this.barTop;
        this.barWritten = this.barTop;
      });
    }
  }

  /** Shows `offset` (a file offset), with `length` bytes from it in view when they fit, and puts the cursor there. */
  goTo(offset: number, length = 1): void {
    if (!(offset >= 0 && offset < this.size)) return;
    this.cursor = offset;
    this.anchor = undefined;
    this.reveal(offset, length);
  }

  private reveal(offset: number, length = 1): void {
    const row = Math.floor(offset / BYTES_PER_ROW);
    const rows = this.visibleRows();
    const lastRow = Math.floor((offset + Math.max(1, length) - 1) / BYTES_PER_ROW);
    if (row < this.firstRow || lastRow >= this.firstRow + rows) {
      this.firstRow = Math.max(0, Math.min(this.maxFirstRow(), lastRow - row + 1 <= rows ? row - Math.floor((rows - (lastRow - row + 1)) / 2) : row));
    }
    this.syncBar();
    void this.refresh();
  }

  /** Reads the visible window again (after an edit). */
  async refresh(): Promise<void> {
    if (!this.size) {
      this.rowsEl.replaceChildren();
      return;
    }
    const id = ++this.request;
    const offset = this.firstRow * BYTES_PER_ROW;
    const result = await this.hooks.bytes(offset, this.visibleRows() * BYTES_PER_ROW);
    if (id !== this.request) return;
    this.window = result;
    this.draw();
  }

  private byteAt(o: number): number | undefined {
    const w = this.window;
    if (!w || o < w.offset || o >= w.offset + w.bytes.length) return undefined;
    return w.bytes[o - w.offset];
  }

  spanAt(o: number): ByteSpan | undefined {
    const spans = this.window?.spans ?? [];
    for (const s of spans) if (o >= s.offset && o < s.offset + s.size) return s;
    return undefined;
  }

  private offsetOfEvent(e: Event): number | undefined {
    const t = (e.target as HTMLElement).closest<HTMLElement>('[data-o]');
    return t ? Number(t.dataset.o) : undefined;
  }

  private draw(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    const w = this.window;
    if (!w) return;
    const sel = this.store.selection;
    const n = w.bytes.length;
    const classes = new Array<string>(n).fill('free');
    const titles = new Array<string>(n).fill('');
    const rows = this.store.rows;
    for (const s of w.spans) {
      const inBlock = sel?.row === s.row;
      const inMember = inBlock && sel?.member !== undefined && (s.label === sel.member || s.label.startsWith(`${sel.member}.`));
      const cls = `${s.padding ? 'pad ' : ''}${inMember ? 'in-member' : inBlock ? 'in-block' : 'owned'}`;
      const title = `${rows[s.row]?.path ?? ''} ${s.label}${s.padding ? ' (padding)' : ''}`;
      for (let i = Math.max(0, s.offset - w.offset); i < Math.min(n, s.offset + s.size - w.offset); i++) {
        // Bit-fields share their storage unit's bytes: the byte names each of them, and is the selected member's if any is.
        if (titles[i]) {
          titles[i] += ` + ${s.label.slice(s.label.lastIndexOf('.') + 1)}`;
          if (inMember) classes[i] = cls;
          continue;
        }
        classes[i] = cls;
        titles[i] = title;
      }
    }
    const range = this.range;
    const firstRow = Math.floor(w.offset / BYTES_PER_ROW);
    const html: string[] = [];
    for (let r = 0; r * BYTES_PER_ROW < n; r++) {
      const rowOffset = w.offset + r * BYTES_PER_ROW;
      const addr = this.base === undefined ? hexOffset(rowOffset) : `${hexOffset(rowOffset)} 0x${(this.base + BigInt(rowOffset)).toString(16)}`;
      let hex = '';
      let ascii = '';
      for (let i = 0; i < BYTES_PER_ROW; i++) {
        const k = r * BYTES_PER_ROW + i;
        if (k >= n) break;
        const o = w.offset + k;
        const b = w.bytes[k]!;
        const marks = `${classes[k]}${o === this.cursor ? ' cursor' : ''}${range && o >= range.from && o <= range.to ? ' range' : ''}${this.changed.has(o) ? ' changed' : ''}`;
        const value = b.toString(16).padStart(2, '0');
        const title = `${hexOffset(o)} = 0x${value}: ${titles[k] || 'not in the tree'}`;
        const selected = classes[k]!.includes('in-') || (range !== undefined && o >= range.from && o <= range.to);
        hex += `<span role="gridcell" id="${cellId(o, this.element.id || 'hex')}" class="b ${marks}" data-o="${o}" aria-selected="${selected}" title="${escapeAttr(title)}">${value}</span>`;
        ascii += `<span class="c ${marks}" data-o="${o}" aria-hidden="true">${b >= 0x20 && b < 0x7f ? escapeHtml(String.fromCharCode(b)) : '.'}</span>`;
      }
      html.push(`<div class="hex-row" role="row" aria-rowindex="${firstRow + r + 1}"><span class="addr" role="rowheader">${addr}</span>${hex}<span class="ascii">${ascii}</span></div>`);
    }
    this.rowsEl.innerHTML = html.join('');
    if (this.cursor >= w.offset && this.cursor < w.offset + n) this.element.setAttribute('aria-activedescendant', cellId(this.cursor, this.element.id || 'hex'));
    else this.element.removeAttribute('aria-activedescendant');
    if (this.announce && this.byteAt(this.cursor) !== undefined) {
      this.announce = false;
      this.say();
    }
  }

  /** Tells the status line where the cursor is (or how long the marked range is). */
  private say(): void {
    const r = this.range;
    if (r && this.hooks.onRange) this.hooks.onRange(r.from, r.to);
    else this.hooks.onCursor(this.cursor, this.byteAt(this.cursor), this.spanAt(this.cursor));
  }

  /** Marks `length` bytes from `offset` (a find's match) with the cursor on the first, and shows them. */
  mark(offset: number, length: number): void {
    if (!(offset >= 0 && offset < this.size)) return;
    this.cursor = offset;
    this.anchor = Math.min(this.size - 1, offset + Math.max(1, length) - 1);
    this.reveal(offset, length);
    this.draw();
  }

  private key(e: KeyboardEvent): void {
    if (this.hooks.onFind) {
      const find = (e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F') ? 'ask' : e.key === 'F3' ? (e.shiftKey ? 'previous' : 'next') : e.key === 'Escape' ? 'cancel' : undefined;
      if (find && (this.hooks.onFind(find) !== false || find !== 'cancel')) {
        e.preventDefault();
        return;
      }
    }
    const page = this.visibleRows() * BYTES_PER_ROW;
    let to = this.cursor;
    switch (e.key) {
      case 'ArrowRight': to += 1; break;
      case 'ArrowLeft': to -= 1; break;
      case 'ArrowDown': to += BYTES_PER_ROW; break;
      case 'ArrowUp': to -= BYTES_PER_ROW; break;
      case 'PageDown': to += page; break;
      case 'PageUp': to -= page; break;
      case 'Home': to = e.ctrlKey ? 0 : to - (to % BYTES_PER_ROW); break;
      case 'End': to = e.ctrlKey ? this.size - 1 : to - (to % BYTES_PER_ROW) + BYTES_PER_ROW - 1; break;
      case 'Enter':
        this.hooks.onPick(this.cursor, this.spanAt(this.cursor));
        e.preventDefault();
        return;
      case 'Escape':
        if (this.anchor === undefined) return;
        this.anchor = undefined;
        e.preventDefault();
        this.draw();
        this.say();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (!this.size) return;
    to = Math.max(0, Math.min(this.size - 1, to));
    if (e.shiftKey) this.anchor ??= this.cursor;
    else this.anchor = undefined;
    this.cursor = to;
    this.reveal(to);
    this.draw();
    if (this.byteAt(to) === undefined) this.announce = true;
    else this.say();
  }
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string): string => escapeHtml(s).replace(/"/g, '&quot;');
