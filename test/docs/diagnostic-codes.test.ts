/**
 * One list of diagnostic codes: the DiagnosticCode union (through DIAGNOSTIC_SEVERITY, which
 * TypeScript makes complete), the table in docs/json-format.md, and the codes the decoder's source
 * emits agree, severity included.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, DIAGNOSTIC_SEVERITY } from '../../src/index.js';
import { STRUCTS } from '../../src/layout/registry.js';
import { SCALARS } from '../../src/layout/descriptor.js';

/** `code` -> severity, from the rows of the table under "## Diagnostic codes". */
function documented(): Map<string, string> {
  const md = readFileSync('docs/json-format.md', 'utf8');
  const section = md.slice(md.indexOf('## Diagnostic codes'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| code |')));
  const out = new Map<string, string>();
  for (const row of table.split('\n').slice(2)) {
    const [, codes, severity] = row.split('|').map((c) => c.trim());
    for (const [, code] of codes!.matchAll(/`([A-Z_]+)`/g)) out.set(code!, severity!);
  }
  return out;
}

/** Every ALL_CAPS string literal of the decoder's sources that is not a structure or scalar name. */
function emitted(): Set<string> {
  const names = new Set<string>([...STRUCTS.map((s) => s.name), ...Object.keys(SCALARS)]);
  const out = new Set<string>();
  for (const file of ['src/tree/decode.ts', 'src/tree/diagnostics.ts']) {
    for (const [, word] of readFileSync(file, 'utf8').matchAll(/'([A-Z][A-Z0-9_]+)'/g)) if (!names.has(word!)) out.add(word!);
  }
  return out;
}

describe('diagnostic codes', () => {
  it('the docs table lists exactly the DiagnosticCode union, at the same severities', () => {
    expect(Object.fromEntries(documented())).toEqual(DIAGNOSTIC_SEVERITY);
  });

  it('the decoder emits exactly the codes of the union', () => {
    expect([...emitted()].sort()).toEqual([...DIAGNOSTIC_CODES].sort());
  });
});
