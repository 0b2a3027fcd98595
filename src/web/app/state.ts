/**
 * The selection and its history. A selection is a block (by row), optionally one of its members
 * (by path) and a byte (file offset). Every view listens; Alt+Left/Right walk the history; the URL
 * fragment names the selection (`#blocks[0].dependents[1]/TCP_OFFLOAD_STATE_CONST.RemotePort`)
 * so a view can be shared and reloaded.
 */
import type { BlockRow, CaptureSummary, DecodeResult, DiagnosticRow } from '../protocol.js';

export interface Selection {
  row: number;
  member?: string;
  /** The byte under the hex cursor. */
  offset?: number;
}

/** An address's value as a map key (`0x00ff` and `0xff` are one address), or undefined for text that is no hexadecimal address. */
function addressKey(text: string): string | undefined {
  const m = /^\s*0x([0-9a-f]{1,16})\s*$/i.exec(text);
  return m ? BigInt(`0x${m[1]}`).toString(16) : undefined;
}

type Listener = (s: Selection | undefined, why: string) => void;

export class Store {
  summary: CaptureSummary | undefined;
  decoded: DecodeResult | undefined;
  selection: Selection | undefined;
  private readonly listeners: Listener[] = [];
  private readonly back: Selection[] = [];
  private readonly forward: Selection[] = [];
  private byPath = new Map<string, number>();
  private byAddress = new Map<string, number>();

  get rows(): BlockRow[] {
    return this.decoded?.rows ?? [];
  }

  get diagnostics(): DiagnosticRow[] {
    return this.decoded?.diagnostics ?? [];
  }

  setTree(summary: CaptureSummary, decoded: DecodeResult | undefined): void {
    this.summary = summary;
    this.decoded = decoded;
    this.byPath = new Map(decoded?.rows.map((r, i) => [r.path, i]));
    this.byAddress = new Map();
    decoded?.rows.forEach((r, i) => {
      const key = addressKey(r.address);
      if (key !== undefined && !this.byAddress.has(key)) this.byAddress.set(key, i);
    });
    this.back.length = 0;
    this.forward.length = 0;
    this.selection = undefined;
    this.emit('tree');
  }

  rowOfPath(path: string): number | undefined {
    return this.byPath.get(path);
  }

  /** The row of the block at an address (as written with any padding), or undefined (also for text that is no address). */
  rowAt(address: string): number | undefined {
    const key = addressKey(address);
    return key === undefined ? undefined : this.byAddress.get(key);
  }

  on(l: Listener): void {
    this.listeners.push(l);
  }

  private emit(why: string): void {
    for (const l of this.listeners) l(this.selection, why);
  }

  /** Selects; a new block or member goes into the history (a byte move within one member does not). */
  select(s: Selection, why = 'select'): void {
    const old = this.selection;
    if (old && (old.row !== s.row || old.member !== s.member)) {
      this.back.push(old);
      this.forward.length = 0;
    }
    this.selection = s;
    this.writeFragment();
    this.emit(why);
  }

  goBack(): boolean {
    const s = this.back.pop();
    if (!s) return false;
    if (this.selection) this.forward.push(this.selection);
    this.selection = s;
    this.writeFragment();
    this.emit('history');
    return true;
  }

  goForward(): boolean {
    const s = this.forward.pop();
    if (!s) return false;
    if (this.selection) this.back.push(this.selection);
    this.selection = s;
    this.writeFragment();
    this.emit('history');
    return true;
  }

  fragment(): string {
    const s = this.selection;
    if (!s) return '';
    const row = this.rows[s.row];
    if (!row) return '';
    return `#${row.path}${s.member ? `/${s.member}` : ''}`;
  }

  private writeFragment(): void {
    const f = this.fragment();
    if (f && location.hash !== f) history.replaceState(null, '', f);
  }

  /** The selection a fragment names, or undefined. */
  parseFragment(hash: string): Selection | undefined {
    const text = decodeURIComponent(hash.replace(/^#/, ''));
    if (!text) return undefined;
    const [path, member] = text.split('/', 2);
    const row = this.rowOfPath(path!);
    if (row === undefined) return undefined;
    return { row, ...(member ? { member } : {}) };
  }
}
