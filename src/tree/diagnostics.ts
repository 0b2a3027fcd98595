/**
 * The diagnostics of a decode, kept within a limit without hiding anything.
 *
 * Below the limit every diagnostic is listed, in the order found. When one more arrives than the
 * limit allows, the list is compacted once: past the first NOTES_LISTED_PER_CODE notes of a code,
 * the notes of that code become one summary (a count, the first and the last path). From then on:
 * - an error or a warning is listed if there is room, else it takes the place of the last listed
 *   diagnostic of a lower severity (a note of the most listed code first, then a warning), which
 *   joins the summary of its code; with no such place, it joins the summary of its own code;
 * - a note is listed while its code has fewer than NOTES_LISTED_PER_CODE listed, none summarised
 *   and there is room; else it joins its code's summary.
 * So errors and warnings are never displaced by notes, every diagnostic is either listed or counted
 * in its code's summary, and the listed diagnostics of a code always come before the ones its
 * summary counts (a summary's `path` is the first it counts). Memory: at most `max` diagnostics
 * plus one summary per code, whatever the tree says.
 */
import { type Diagnostic, type DiagnosticCode, type Severity } from './document.js';

/** Notes of one code listed one by one in a document that reached its limit. */
export const NOTES_LISTED_PER_CODE = 10;

interface Summary {
  first: Diagnostic;
  lastPath: string;
  count: number;
}

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };
const NOUN: Readonly<Record<Severity, [string, string]>> = { error: ['error', 'errors'], warning: ['warning', 'warnings'], info: ['note', 'notes'] };

/** `1 error`, `2 errors`, `1 note`. */
export const countOf = (n: number, severity: Severity): string => `${n} ${NOUN[severity][n === 1 ? 0 : 1]}`;

export class DiagnosticLog {
  private readonly list: Diagnostic[] = [];
  private overflow = false;
  private readonly summaries = new Map<DiagnosticCode, Summary>();
  /** Notes listed, per code (kept only once the limit is reached). */
  private readonly listedNotes = new Map<DiagnosticCode, number>();
  /** Warnings listed (kept only once the limit is reached): no search for one when there is none. */
  private listedWarnings = 0;
  /** Errors and warnings not listed one by one. */
  private problemsSummarised = 0;
  /** What take() decided: 'list', or 'first' (the first of a summary). */
  private action: 'list' | 'first' = 'list';

  constructor(readonly max: number) {}

  /**
   * Counts a diagnostic; true when the caller must build it and hand it to keep() (it is listed,
   * or it is the first of its summary). False: it was counted in its code's summary.
   */
  take(severity: Severity, code: DiagnosticCode, path: string): boolean {
    if (!this.overflow) {
      if (this.list.length < this.max) {
        this.action = 'list';
        return true;
      }
      this.compact();
    }
    const s = this.summaries.get(code);
    if (severity === 'info') {
      if (s === undefined && (this.listedNotes.get(code) ?? 0) < NOTES_LISTED_PER_CODE && this.list.length < this.max) {
        this.listedNotes.set(code, (this.listedNotes.get(code) ?? 0) + 1);
        this.action = 'list';
        return true;
      }
    } else if (this.list.length < this.max || this.evictBelow(severity)) {
      this.action = 'list';
      return true;
    }
    if (severity !== 'info') this.problemsSummarised++;
    if (s !== undefined) {
      s.count++;
      s.lastPath = path;
      return false;
    }
    this.action = 'first';
    return true;
  }

  /** The diagnostic take() asked for. */
  keep(d: Diagnostic): void {
    if (this.action === 'list') {
      this.list.push(d);
      if (this.overflow && d.severity === 'warning') this.listedWarnings++;
    }
    else this.summaries.set(d.code, { first: d, lastPath: d.path, count: 1 });
  }

  /** The document's diagnostics: those listed, then one summary per code (errors, warnings, notes), then DIAGNOSTICS_LIMIT when errors or warnings are among the summarised. */
  finish(limitAt: { path: string; address: string }): Diagnostic[] {
    const out = this.list.slice();
    const summaries = [...this.summaries.values()].sort((a, b) => RANK[b.first.severity] - RANK[a.first.severity]);
    for (const { first, lastPath, count } of summaries) {
      const where = count === 1 ? `at ${first.path}:` : `from ${first.path} to ${lastPath}; the first:`;
      out.push({
        ...first,
        message: `${countOf(count, first.severity)} of this code not listed one by one (more than ${this.limitText()}), ${where} ${first.message}`,
        count,
        lastPath,
      });
    }
    if (this.problemsSummarised) {
      const counted = (['error', 'warning'] as const)
        .map((sev) => summaries.filter((s) => s.first.severity === sev).reduce((n, s) => n + s.count, 0))
        .map((n, i) => (n ? countOf(n, i === 0 ? 'error' : 'warning') : ''))
        .filter(Boolean)
        .join(' and ');
      out.push({
        severity: 'warning',
        code: 'DIAGNOSTICS_LIMIT',
        message: `more than ${this.limitText()}: ${counted} counted in one summary per code, not listed one by one`,
        path: limitAt.path,
        address: limitAt.address,
        offset: null,
      });
    }
    return out;
  }

  private limitText(): string {
    return `${this.max} ${this.max === 1 ? 'diagnostic' : 'diagnostics'}`;
  }

  /** The limit is reached: past the first NOTES_LISTED_PER_CODE notes of a code, its notes become its summary. */
  private compact(): void {
    this.overflow = true;
    const kept: Diagnostic[] = [];
    for (const d of this.list) {
      if (d.severity !== 'info') {
        kept.push(d);
        continue;
      }
      const listed = this.listedNotes.get(d.code) ?? 0;
      const s = this.summaries.get(d.code);
      if (listed < NOTES_LISTED_PER_CODE) {
        this.listedNotes.set(d.code, listed + 1);
        kept.push(d);
      } else if (s === undefined) this.summaries.set(d.code, { first: d, lastPath: d.path, count: 1 });
      else {
        s.count++;
        s.lastPath = d.path;
      }
    }
    this.list.length = 0;
    this.list.push(...kept);
    this.listedWarnings = kept.filter((d) => d.severity === 'warning').length;
  }

  /** Makes room for a diagnostic of `severity`: the last listed note of the most listed code, else (for an error) the last listed warning, joins its summary. */
  private evictBelow(severity: Severity): boolean {
    let code: DiagnosticCode | undefined;
    let most = 0;
    for (const [c, n] of this.listedNotes) {
      if (n > most) {
        most = n;
        code = c;
      }
    }
    let at = -1;
    if (code !== undefined) {
      for (let i = this.list.length - 1; i >= 0; i--) {
        if (this.list[i]!.code === code) {
          at = i;
          break;
        }
      }
      this.listedNotes.set(code, most - 1);
    } else if (RANK[severity] > RANK.warning && this.listedWarnings > 0) {
      for (let i = this.list.length - 1; i >= 0; i--) {
        if (this.list[i]!.severity === 'warning') {
          at = i;
          break;
        }
      }
      this.listedWarnings--;
      this.problemsSummarised++;
    }
    if (at < 0) return false;
    const [victim] = this.list.splice(at, 1) as [Diagnostic];
    // The victim was the last listed of its code, so it comes before everything its summary counts.
    const s = this.summaries.get(victim.code);
    if (s === undefined) this.summaries.set(victim.code, { first: victim, lastPath: victim.path, count: 1 });
    else {
      s.first = victim;
      s.count++;
    }
    return true;
  }
}
