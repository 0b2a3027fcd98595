/**
 * The hex view over the whole capture file: address, hex and ASCII columns, each byte coloured by
 * what owns it (the selected block, the selected member, padding, other blocks) and naming its
 * owner on hover. Browsers cap an element's height near 33 million pixels (16 bytes a 18 px row:
 * 29 MB), so the rows are drawn by this code for the visible part only, against a scrollbar whose
 * range is scaled to the file: position p of the bar shows row p × (rows − visible) / range.
 * One tab stop; arrows, PageUp/PageDown, Home/End (row), Ctrl+Home/End (file) move the cursor,
 * Enter selects the member under it.
 */
import type { ByteSpan, BytesResult } from '../protocol.js';
import { el, hexOffset } from './dom.js';
import type { Store } from './state.js';

const BYTES_PER_ROW = 16;
const ROW_PX = 18;
/** The scrollbar's range in pixels: well under every browser's cap. */
const MAX_SCROLL_PX = 4_000_000;

export interface HexViewHooks {
  bytes(offset: number, length: number): Promise<BytesResult>;
  /** Clicking or Enter on a byte: select what owns it. */
  onPick(offset: number, span: ByteSpan | undefined): void;
  /** The cursor moved: say where it is (the status line). */
  onCursor(offset: number, value: number | undefined, span: ByteSpan | undefined): void;
}

export class HexView {
  private readonly rowsEl: HTMLElement;
  private readonly scrollEl: HTMLElement;
  private readonly scrollInner: HTMLElement;
  private size = 0;
  private base: bigint | undefined;
  private firstRow = 0;
  cursor = 0;
  private window: BytesResult | undefined;
  private request = 0;
  private ignoreScroll = false;
  /** File offsets of bytes changed by edits (marked in the view). */
  changed = new Set<number>();

  constructor(
    readonly element: HTMLElement,
    private readonly store: Store,
    private readonly hooks: HexViewHooks,
  ) {
    element.setAttribute('role', 'grid');
    element.setAttribute('aria-label', 'Bytes of the capture');
    element.setAttribute('aria-readonly', 'true');
    element.tabIndex = 0;
    this.rowsEl = el('div', { class: 'rows', role: 'rowgroup' });
    this.scrollInner = el('div');
    this.scrollEl = el('div', { class: 'scroll', 'aria-hidden': 'true', tabindex: -1 }, this.scrollInner);
    element.append(this.rowsEl, this.scrollEl);
    this.scrollEl.addEventListener('scroll', () => {
      if (this.ignoreScroll) {
        this.ignoreScroll = false;
        return;
      }
      const range = this.scrollEl.scrollHeight - this.scrollEl.clientHeight;
      this.firstRow = range > 0 ? Math.round((this.scrollEl.scrollTop / range) * this.maxFirstRow()) : 0;
      void this.refresh();
    });
    element.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.scrollRows(Math.sign(e.deltaY) * Math.max(1, Math.round(Math.abs(e.deltaY) / ROW_PX)));
    }, { passive: false });
    element.addEventListener('keydown', (e) => this.key(e));
    element.addEventListener('click', (e) => {
      const o = this.offsetOfEvent(e);
      if (o === undefined) return;
      this.cursor = o;
      this.hooks.onPick(o, this.spanAt(o));
      this.draw();
    });
    element.addEventListener('mouseover', (e) => {
      const o = this.offsetOfEvent(e);
      if (o !== undefined) this.hooks.onCursor(o, this.byteAt(o), this.spanAt(o));
    });
    new ResizeObserver(() => void this.refresh()).observe(element);
    store.on(() => this.draw());
  }

  /** A new capture: its size, and for a region the virtual address of its first byte. */
  setFile(size: number, base: bigint | undefined): void {
    this.size = size;
    this.base = base;
    this.firstRow = 0;
    this.cursor = 0;
    this.window = undefined;
    this.changed.clear();
    this.scrollInner.style.height = `${Math.min(MAX_SCROLL_PX, this.totalRows() * ROW_PX)}px`;
    void this.refresh();
  }

  private totalRows(): number {
    return Math.ceil(this.size / BYTES_PER_ROW);
  }

  private visibleRows(): number {
    return Math.max(1, Math.floor((this.rowsEl.clientHeight - 4) / ROW_PX));
  }

  private maxFirstRow(): number {
    return Math.max(0, this.totalRows() - this.visibleRows());
  }

  private scrollRows(delta: number): void {
    this.firstRow = Math.max(0, Math.min(this.maxFirstRow(), this.firstRow + delta));
    this.syncBar();
    void this.refresh();
  }

  private syncBar(): void {
    const range = this.scrollEl.scrollHeight - this.scrollEl.clientHeight;
    const max = this.maxFirstRow();
    const top = max > 0 ? Math.round((this.firstRow / max) * range) : 0;
    if (Math.abs(this.scrollEl.scrollTop - top) >= 1) {
      this.ignoreScroll = true;
      this.scrollEl.scrollTop = top;
    }
  }

  /** Shows `offset` (a file offset), with `length` bytes from it in view when they fit, and puts the cursor there. */
  goTo(offset: number, length = 1): void {
    if (!(offset >= 0 && offset < this.size)) return;
    this.cursor = offset;
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
    const w = this.window;
    if (!w) return;
    const sel = this.store.selection;
    const classes = new Array<string>(w.bytes.length).fill('');
    const titles = new Array<string>(w.bytes.length).fill('');
    const rows = this.store.rows;
    for (const s of w.spans) {
      const inBlock = sel?.row === s.row;
      const inMember = inBlock && sel?.member !== undefined && (s.label === sel.member || s.label.startsWith(`${sel.member}.`));
      const cls = `${s.padding ? 'pad ' : ''}${inMember ? 'in-member' : inBlock ? 'in-block' : 'owned'}`;
      const title = `${rows[s.row]?.path ?? ''} ${s.label}`;
      for (let i = Math.max(0, s.offset - w.offset); i < Math.min(w.bytes.length, s.offset + s.size - w.offset); i++) {
        classes[i] = cls;
        titles[i] = title;
      }
    }
    const html: string[] = [];
    for (let r = 0; r * BYTES_PER_ROW < w.bytes.length; r++) {
      const rowOffset = w.offset + r * BYTES_PER_ROW;
      const addr = this.base === undefined ? hexOffset(rowOffset) : `${hexOffset(rowOffset)} 0x${(this.base + BigInt(rowOffset)).toString(16)}`;
      let hex = '';
      let ascii = '';
      for (let i = 0; i < BYTES_PER_ROW; i++) {
        const k = r * BYTES_PER_ROW + i;
        if (k >= w.bytes.length) break;
        const o = w.offset + k;
        const b = w.bytes[k]!;
        const cls = `${classes[k]}${o === this.cursor ? ' cursor' : ''}${this.changed.has(o) ? ' changed' : ''}`;
        const t = titles[k] ? ` title="${escapeAttr(titles[k]!)}"` : '';
        hex += `<span role="gridcell" class="b ${cls}" data-o="${o}"${t}>${b.toString(16).padStart(2, '0')}</span>`;
        ascii += `<span class="c ${cls}" data-o="${o}" aria-hidden="true">${b >= 0x20 && b < 0x7f ? escapeHtml(String.fromCharCode(b)) : '.'}</span>`;
      }
      html.push(`<div class="hex-row" role="row"><span class="addr" role="rowheader">${addr}</span>${hex}<span class="ascii">${ascii}</span></div>`);
    }
    this.rowsEl.innerHTML = html.join('');
    this.element.setAttribute('aria-rowcount', String(this.totalRows()));
  }

  private key(e: KeyboardEvent): void {
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
      default:
        return;
    }
    e.preventDefault();
    to = Math.max(0, Math.min(this.size - 1, to));
    this.goTo(to);
    this.hooks.onCursor(to, this.byteAt(to), this.spanAt(to));
  }
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string): string => escapeHtml(s).replace(/"/g, '&quot;');
