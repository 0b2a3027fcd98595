/**
 * Ctrl+F in the hex view: find bytes (`4a 00 ff`, `0x4a00ff`) or text (`"NDIS"`, or anything
 * that is not hex) in the whole file; F3 and Shift+F3 (or Enter and Shift+Enter in the dialog's
 * wake) go to the next and the previous match. The Worker looks through the file a step at a time
 * (64 MiB), so a search through a large capture shows its progress, leaves the Worker free
 * between steps, and stops when another starts or Escape is pressed.
 */
import type { FindResult } from '../protocol.js';
import { hexOffset } from './dom.js';

export const MAX_PATTERN = 256;

export type Pattern = { bytes: number[]; shown: string };

/** What the user typed, as the bytes to look for; an Error says why it is neither. */
export function parsePattern(text: string): Pattern | Error {
  const t = text.trim();
  if (!t) return new Error('find: type hex bytes (4a 00 ff) or text ("NDIS")');
  const quoted = /^(["'])(.*)\1$/s.exec(t);
  const compact = t.replace(/0x/gi, '').replace(/[\s,]/g, '');
  let bytes: number[];
  let shown: string;
  if (!quoted && /^(?:[0-9a-f]{2})+$/i.test(compact)) {
    bytes = compact.match(/../g)!.map((h) => Number.parseInt(h, 16));
    shown = bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  } else {
    const s = quoted ? quoted[2]! : t;
    if (!s) return new Error('find: the quotes hold no text');
    bytes = [...new TextEncoder().encode(s)];
    shown = JSON.stringify(s);
  }
  if (bytes.length > MAX_PATTERN) return new Error(`find: ${bytes.length} bytes is more than ${MAX_PATTERN}`);
  return { bytes, shown };
}

export interface FindHooks {
  /** One step of the search in the Worker. */
  step(pattern: number[], from: number, backwards: boolean): Promise<FindResult>;
  /** Asks what to find (the last pattern offered). */
  ask(last: string | undefined): Promise<string | undefined>;
  /** The file's size and where the cursor is. */
  size(): number;
  cursor(): number;
  /** Shows a match: the cursor on its first byte, its bytes marked. */
  show(offset: number, length: number): void;
  say(text: string): void;
  error(e: unknown): void;
}

export class HexFind {
  private pattern: Pattern | undefined;
  private typed: string | undefined;
  /** Bumped by every search and by cancel(): a running search that sees it changed stops. */
  private generation = 0;
  /** The search running, for tests and scripts to wait on. */
  running: Promise<void> | undefined;

  constructor(private readonly hooks: FindHooks) {}

  /** Ctrl+F: asks for a pattern, then finds it from the cursor on. */
  async ask(): Promise<void> {
    const text = await this.hooks.ask(this.typed);
    if (text === undefined) return;
    const p = parsePattern(text);
    if (p instanceof Error) {
      this.hooks.error(p);
      return;
    }
    this.typed = text;
    this.pattern = p;
    await this.search(false, this.hooks.cursor());
  }

  /** F3 / Shift+F3: the next or the previous match from the cursor. */
  async next(backwards: boolean): Promise<void> {
    if (!this.pattern) return this.ask();
    await this.search(backwards, backwards ? this.hooks.cursor() : this.hooks.cursor() + 1);
  }

  cancel(): boolean {
    if (!this.running) return false;
    this.generation++;
    this.hooks.say('search stopped');
    return true;
  }

  private search(backwards: boolean, from: number): Promise<void> {
    const p = this.pattern!;
    const id = ++this.generation;
    const size = this.hooks.size();
    const run = async (): Promise<void> => {
      let at = from;
      for (;;) {
        const r = await this.hooks.step(p.bytes, at, backwards);
        if (id !== this.generation) return;
        if (r.offset !== null) {
          this.hooks.show(r.offset, p.bytes.length);
          this.hooks.say(`${p.shown} found at ${hexOffset(r.offset)} (F3 next, Shift+F3 previous)`);
          return;
        }
        if (r.done) {
          this.hooks.say(`${p.shown}: no ${backwards ? 'earlier' : 'later'} match ${backwards ? 'before' : 'after'} ${hexOffset(Math.min(Math.max(0, from), Math.max(0, size - 1)))}`);
          return;
        }
        at = r.next;
        const done = backwards ? from - at : at - from;
        const total = backwards ? from : size - from;
        this.hooks.say(`searching for ${p.shown}… ${Math.round((done / Math.max(1, total)) * 100)}% (Esc stops)`);
      }
    };
    const running = run()
      .catch((e) => {
        if (id === this.generation) this.hooks.error(e);
      })
      .finally(() => {
        if (this.running === running) this.running = undefined;
      });
    this.running = running;
    return running;
  }
}
