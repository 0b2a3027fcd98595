/** The page's dialogs: a region's base and ABI, a line of text, an error. Native <dialog>, keyboard and screen-reader ready. */
import type { RegionSettings } from '../protocol.js';
import { $, el } from './dom.js';

function modal(title: string, body: HTMLElement[], okText = 'OK'): Promise<FormData | undefined> {
  return new Promise((resolve) => {
    const form = el('form', { method: 'dialog' });
    const dialog = el('dialog', { 'aria-label': title }, form);
    // Cancel is not a submit button: Enter in a field submits the form with its first submit button, which must be OK.
    const cancel = el('button', { value: 'cancel', type: 'button', text: 'Cancel' });
    cancel.addEventListener('click', () => dialog.close('cancel'));
    form.append(el('h2', { text: title }), ...body, el('div', { class: 'buttons' }, cancel, el('button', { value: 'ok', type: 'submit', text: okText })));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok' ? new FormData(form) : undefined);
      dialog.remove();
    });
    $('dialogs').append(dialog);
    dialog.showModal();
  });
}

/** Asks how to read a file whose bytes name no format: a region at a base, or a raw physical image. */
export async function askRegionSettings(name: string, last: RegionSettings | undefined): Promise<RegionSettings | undefined> {
  const kind = last?.kind ?? 'region';
  const data = await modal(`How is ${name} read?`, [
    el('p', { text: 'Its bytes name no capture format: it is captured memory at a virtual address (a region), or a raw physical memory image.' }),
    el('label', {}, el('input', { type: 'radio', name: 'kind', value: 'region', checked: kind === 'region' }), ' a region: its first byte is at'),
    el('label', {}, 'Base address ', el('input', { name: 'base', value: last?.base ?? '', placeholder: '0xffffc70a12340000', spellcheck: 'false', 'aria-label': 'Base address' })),
    el('label', {}, 'ABI ', el('select', { name: 'abi', 'aria-label': 'ABI' }, el('option', { value: 'x64', selected: last?.abi !== 'x86', text: 'x64' }), el('option', { value: 'x86', selected: last?.abi === 'x86', text: 'x86' }))),
    el('label', {}, el('input', { type: 'radio', name: 'kind', value: 'physical', checked: kind === 'physical' }), ' a raw physical image (the DTB is found, or give it)'),
    el('label', {}, 'DTB ', el('input', { name: 'dtb', value: last?.dtb ?? '', placeholder: 'found when empty', spellcheck: 'false', 'aria-label': 'DTB' })),
  ], 'Open');
  if (!data) return undefined;
  const k = data.get('kind') === 'physical' ? 'physical' : 'region';
  const abi = data.get('abi') === 'x86' ? 'x86' : 'x64';
  if (k === 'region') return { kind: 'region', base: String(data.get('base') ?? '').trim(), abi };
  const dtb = String(data.get('dtb') ?? '').trim();
  return { kind: 'physical', ...(dtb ? { dtb } : {}) };
}

export async function askText(title: string, label: string): Promise<string | undefined> {
  const data = await modal(title, [el('label', {}, `${label} `, el('input', { name: 'text', autofocus: true, spellcheck: 'false', 'aria-label': label }))]);
  const text = data ? String(data.get('text') ?? '').trim() : '';
  return text || undefined;
}

/** Shows an error (the library's one line) in a dialog: never swallowed, and the page stays usable. */
export function showError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  const name = e instanceof Error && e.name !== 'Error' ? `${e.name}: ` : '';
  void modal('Error', [el('p', { class: 'error-text', role: 'alert', text: `${name}${message}` })]);
}
