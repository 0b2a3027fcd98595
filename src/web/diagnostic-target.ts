/**
 * Which block and member a diagnostic concerns, shared by the Worker (a tree row's worst
 * severity) and the page (choosing a diagnostic selects them). No DOM.
 */
import type { DiagnosticRow } from './protocol.js';

/**
 * A diagnostic's member as a member row's path: state members are named with their structure
 * (`TCP_OFFLOAD_STATE_DELEGATED.Header.Length`), the block structure's members bare
 * (`NextBlock`, `Header.Size`).
 */
export function diagnosticMemberPath(member: string | undefined): string | undefined {
  if (!member) return undefined;
  return /^[A-Z0-9_]+_[A-Z0-9_]+(\.|$)/.test(member) ? member : `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.${member}`;
}

/**
 * The block and member a diagnostic concerns. Most name a block of the tree; one about a block the
 * walk did not add (a CYCLE, a BLOCK_SHARED: its path is where the block would have been) concerns
 * the pointer that leads there: the previous sibling's NextBlock, or for a first dependent the
 * parent's DependentBlockList.
 */
export function diagnosticTarget(d: DiagnosticRow, rowOfPath: (path: string) => number | undefined): { row: number; member?: string } | undefined {
  const member = diagnosticMemberPath(d.member);
  if (d.row >= 0) return { row: d.row, ...(member ? { member } : {}) };
  const m = /^(.*)\[(\d+)\]$/.exec(d.path);
  if (!m) return undefined;
  const index = Number(m[2]);
  if (index > 0) {
    const row = rowOfPath(`${m[1]}[${index - 1}]`);
    return row === undefined ? undefined : { row, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock' };
  }
  const parent = /^(.*)\.dependents$/.exec(m[1]!);
  const row = parent ? rowOfPath(parent[1]!) : undefined;
  return row === undefined ? undefined : { row, member: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.DependentBlockList' };
}
