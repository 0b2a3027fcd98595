/**
 * The diagnostics list: severity (by sign and word, not colour alone), code, path, member and
 * message; choosing one (click, Enter or Space) selects its block and member, and so its bytes.
 * One tab stop: Up/Down/Home/End move between the rows.
 */
import type { DiagnosticRow } from '../protocol.js';
import { el } from './dom.js';
import type { Store } from './state.js';

export { diagnosticMemberPath, diagnosticTarget } from '../diagnostic-target.js';

const SIGN = { error: '✖', warning: '▲', info: 'ℹ' } as const;

export class DiagnosticsView {
  private body: HTMLElement | undefined;

  constructor(
    readonly element: HTMLElement,
    store: Store,
    onPick: (d: DiagnosticRow) => void,
  ) {
    store.on((_, why) => {
      if (why !== 'tree') return;
      const list = store.diagnostics;
      const counts = { error: 0, warning: 0, info: 0 };
      for (const d of list) counts[d.severity] += d.count ?? 1;
      const head = el('h2', { id: 'diagnostics-head', text: `Diagnostics: ${counts.error} errors, ${counts.warning} warnings, ${counts.info} notes` });
      this.body = undefined;
      if (!list.length) {
        element.replaceChildren(head);
        return;
      }
      const table = el('table', { 'aria-labelledby': 'diagnostics-head' });
      table.append(el('thead', {}, el('tr', {}, ...['Severity', 'Code', 'Path', 'Member', 'Message'].map((h) => el('th', { scope: 'col', text: h })))));
      const body = el('tbody');
      list.forEach((d, i) => {
        body.append(
          el(
            'tr',
            { tabindex: i === 0 ? 0 : -1, 'data-i': i, title: 'Enter selects the block and member' },
            el('td', { class: `sev-${d.severity}`, text: `${SIGN[d.severity]} ${d.severity}` }),
            el('td', { text: d.code }),
            el('td', { text: d.path }),
            el('td', { text: d.member ?? '' }),
            el('td', { text: d.count ? `${d.message} (${d.count} in all)` : d.message }),
          ),
        );
      });
      table.append(body);
      this.body = body;
      element.replaceChildren(head, table);
    });
    const rowOf = (e: Event): HTMLElement | null => (e.target as HTMLElement).closest<HTMLElement>('tr[data-i]');
    const pick = (tr: HTMLElement): void => {
      this.focusRow(tr, false);
      onPick(store.diagnostics[Number(tr.dataset.i)]!);
    };
    element.addEventListener('click', (e) => {
      const tr = rowOf(e);
      if (tr) pick(tr);
    });
    element.addEventListener('keydown', (e) => {
      const tr = rowOf(e);
      if (!tr || e.altKey || e.ctrlKey || e.metaKey) return;
      const rows = [...(this.body?.children ?? [])] as HTMLElement[];
      const at = rows.indexOf(tr);
      const to = e.key === 'ArrowDown' ? at + 1 : e.key === 'ArrowUp' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? rows.length - 1 : undefined;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick(tr);
      } else if (to !== undefined) {
        e.preventDefault();
        const next = rows[Math.max(0, Math.min(rows.length - 1, to))];
        if (next) this.focusRow(next, true);
      }
    });
  }

  private focusRow(tr: HTMLElement, focus: boolean): void {
    for (const r of this.body?.children ?? []) r.setAttribute('tabindex', r === tr ? '0' : '-1');
    if (focus) tr.focus();
  }
}
