/** The diagnostics list: code, message and path; choosing one selects the block and its bytes. */
import type { DiagnosticRow } from '../protocol.js';
import { el } from './dom.js';
import type { Store } from './state.js';

export class DiagnosticsView {
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
      const head = el('h2', { text: `Diagnostics: ${counts.error} errors, ${counts.warning} warnings, ${counts.info} notes` });
      if (!list.length) {
        element.replaceChildren(head);
        return;
      }
      const table = el('table', { 'aria-label': 'Diagnostics' });
      table.append(el('thead', {}, el('tr', {}, ...['Severity', 'Code', 'Path', 'Member', 'Message'].map((h) => el('th', { scope: 'col', text: h })))));
      const body = el('tbody');
      list.forEach((d, i) => {
        const sign = d.severity === 'error' ? '✖' : d.severity === 'warning' ? '▲' : 'ℹ';
        body.append(el('tr', { tabindex: 0, 'data-i': i }, el('td', { class: `sev-${d.severity}`, text: `${sign} ${d.severity}` }), el('td', { text: d.code }), el('td', { text: d.path }), el('td', { text: d.member ?? '' }), el('td', { text: d.count ? `${d.message} (${d.count} in all)` : d.message })));
      });
      table.append(body);
      element.replaceChildren(head, table);
    });
    const pick = (e: Event): void => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-i]');
      if (tr) onPick(store.diagnostics[Number(tr.dataset.i)]!);
    };
    element.addEventListener('click', pick);
    element.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') pick(e);
    });
  }
}
