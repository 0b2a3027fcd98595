/**
 * The edit dialog: one member's new value, checked as it is typed against the C type's range
 * (the Worker's EditSpec: UCHAR 0..255, a 4-bit field 0..15, a pointer's width), with the names an
 * enum or a status takes offered in a list; then written by the Worker with encode --onto's rules.
 * What the Worker refuses is shown in the dialog, which stays open to correct it. A read-only
 * capture's refusal is shown with its reason and the offer to export the tree as a region.
 */
import type { EditSpec, EditState } from '../protocol.js';
import { $, el } from './dom.js';

/** A value typed for a member, checked as the page can (the Worker checks again, and has the last word): a message, or '' when it looks right. */
export function checkInput(spec: EditSpec, text: string): string {
  const t = text.trim();
  if (!t) return `give a value: ${spec.hint}`;
  const numeric = (s: string): bigint | undefined => (/^-?[0-9]+$/.test(s) || /^0x[0-9a-f]+$/i.test(s) ? BigInt(s) : undefined);
  const inRange = (n: bigint): string => {
    if (spec.min !== undefined && spec.max !== undefined && (n < BigInt(spec.min) || n > BigInt(spec.max))) {
      return `${t} does not fit ${spec.bits !== undefined ? `a ${spec.bits}-bit field of ${spec.ctype}` : spec.ctype} (${spec.min}..${spec.max})`;
    }
    return '';
  };
  switch (spec.kind) {
    case 'integer':
    case 'port': {
      const n = numeric(t);
      return n === undefined ? `${t} is not a number (decimal, or hex with 0x)` : inRange(n);
    }
    case 'pointer': {
      const hex = t.replace(/[`']/g, '').replace(/^0x/i, '');
      if (!/^[0-9a-f]+$/i.test(hex)) return `${t} is not an address (hexadecimal)`;
      return inRange(BigInt(`0x${hex}`));
    }
    case 'enum': {
      if (spec.names?.includes(t)) return '';
      const n = numeric(t);
      return n === undefined ? `${t} is not a ${spec.ctype} name or number` : inRange(n);
    }
    case 'status':
      return spec.names?.includes(t) || /^(0x)?[0-9a-f]{1,8}$/i.test(t) || /^unknown \(0x[0-9a-f]{1,8}\)$/i.test(t) ? '' : `${t} is not an NDIS_STATUS name or 32-bit hex word`;
    case 'bytes':
      return /^([0-9a-f]{2}[\s:-]?)*$/i.test(t) ? '' : `${t} is not bytes in hex (two digits each)`;
    default:
      return '';
  }
}

let nextId = 1;

/**
 * Asks for a member's new value and writes it with `write` (the Worker's edit). Resolves with the
 * edit's state, or undefined when cancelled. `write`'s refusal is shown in the dialog.
 */
export function editDialog(spec: EditSpec, where: string, write: (value: string) => Promise<EditState>): Promise<EditState | undefined> {
  return new Promise((resolve) => {
    const id = `edit-${nextId++}`;
    const input = el('input', { name: 'value', value: spec.current, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': `${id}-hint ${id}-error`, size: 40, 'aria-label': `New value of ${spec.member}` });
    const list = spec.names?.length ? el('datalist', { id: `${id}-names` }, ...spec.names.map((n) => el('option', { value: n }))) : undefined;
    if (list) input.setAttribute('list', `${id}-names`);
    const error = el('p', { id: `${id}-error`, class: 'error-text', role: 'alert' });
    const cancel = el('button', { type: 'button', text: 'Cancel' });
    const ok = el('button', { type: 'submit', text: 'Write', class: 'primary' });
    const form = el(
      'form',
      { method: 'dialog' },
      el('h2', { text: `Edit ${spec.member}` }),
      el('p', { text: `${where} · ${spec.ctype}${spec.bits !== undefined ? ` : ${spec.bits}` : ''}` }),
      el('label', {}, 'Value ', input),
      ...(list ? [list] : []),
      el('p', { id: `${id}-hint`, class: 'muted', text: spec.hint }),
      error,
      el('div', { class: 'buttons' }, cancel, ok),
    );
    const dialog = el('dialog', { 'aria-label': `Edit ${spec.member}`, class: 'edit-dialog' }, form);
    let result: EditState | undefined;
    const check = (): boolean => {
      const message = checkInput(spec, input.value);
      input.setCustomValidity(message);
      input.setAttribute('aria-invalid', message ? 'true' : 'false');
      error.textContent = message;
      return !message;
    };
    input.addEventListener('input', check);
    cancel.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!check()) return input.focus();
      ok.disabled = true;
      write(input.value).then(
        (state) => {
          result = state;
          dialog.close();
        },
        (err: unknown) => {
          ok.disabled = false;
          const e2 = err as Error;
          error.textContent = e2.message;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
        },
      );
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    $('dialogs').append(dialog);
    dialog.showModal();
    input.select();
  });
}

/** A read-only capture: the refusal with its reason, and the downloads offered instead (each button downloads; Close closes). */
export function readOnlyDialog(reason: string, download: (kind: 'region' | 'region-json') => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const region = el('button', { type: 'button', 'data-download': 'region', text: 'Download the tree as a region capture' });
    const json = el('button', { type: 'button', 'data-download': 'region-json', text: 'Download its JSON document' });
    const close = el('button', { type: 'button', text: 'Close' });
    const dialog = el(
      'dialog',
      { 'aria-label': 'This capture is read-only', class: 'read-only-dialog' },
      el('h2', { text: 'This capture is read-only' }),
      el('p', { class: 'error-text', role: 'alert', text: reason }),
      el('p', { text: 'Export the tree as a region capture (the decoded tree encoded anew) with its JSON document: open that region here to edit or complete it, or use it with encode --onto and complete.' }),
      el('div', { class: 'buttons' }, close, json, region),
    );
    for (const b of [region, json]) b.addEventListener('click', () => void download(b.dataset.download as 'region' | 'region-json'));
    close.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve();
    });
    $('dialogs').append(dialog);
    dialog.showModal();
    region.focus();
  });
}
