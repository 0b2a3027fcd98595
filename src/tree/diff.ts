/** Which fields of which blocks differ between two decoded trees, matched by their path in the tree. */
import type { BlockJson, TreeDocument } from './document.js';

export interface FieldChange {
  /** Block path: `blocks[0].dependents[1]`. */
  path: string;
  address: string;
  /** Dotted member: `Status`, `state.TCP_OFFLOAD_STATE_DELEGATED.SndNxt`. */
  member: string;
  /** The value in the first tree; undefined when only the second tree has the member. */
  before: unknown;
  /** The value in the second tree; undefined when only the first tree has the member. */
  after: unknown;
}

/** How a FieldChange's value is shown as text: `(absent)` for a member the tree lacks, never `undefined`. */
export function formatDiffValue(v: unknown): string {
  return v === undefined ? '(absent)' : String(v);
}

export interface TreeDiff {
  changes: FieldChange[];
  /** Blocks only in the first tree, or only in the second. */
  onlyInA: string[];
  onlyInB: string[];
}

function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    // Status and State are {value, hex?, name}: one field, shown by name.
    if ('name' in o && 'value' in o) {
      out.set(prefix, o.name);
      return;
    }
    for (const [k, e] of Object.entries(o)) flatten(e, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, Array.isArray(v) ? JSON.stringify(v) : v);
}

const SKIP = new Set(['dependents', 'offset']);

function blocksByPath(doc: TreeDocument): Map<string, BlockJson> {
  const m = new Map<string, BlockJson>();
  const stack: [BlockJson, string][] = doc.blocks.map((b, i) => [b, `blocks[${i}]`]);
  while (stack.length) {
    const [b, path] = stack.pop()!;
    m.set(path, b);
    b.dependents.forEach((d, i) => stack.push([d, `${path}.dependents[${i}]`]));
  }
  return m;
}

export function diffTrees(a: TreeDocument, b: TreeDocument): TreeDiff {
  const ma = blocksByPath(a);
  const mb = blocksByPath(b);
  const changes: FieldChange[] = [];
  const order = (x: string, y: string): number => x.localeCompare(y, 'en', { numeric: true });
  for (const path of [...ma.keys()].sort(order)) {
    const x = ma.get(path)!;
    const y = mb.get(path);
    if (!y) continue;
    const fx = new Map<string, unknown>();
    const fy = new Map<string, unknown>();
    for (const [k, v] of Object.entries(x)) if (!SKIP.has(k)) flatten(v, k, fx);
    for (const [k, v] of Object.entries(y)) if (!SKIP.has(k)) flatten(v, k, fy);
    for (const member of new Set([...fx.keys(), ...fy.keys()])) {
      const before = fx.get(member);
      const after = fy.get(member);
      if (before !== after) changes.push({ path, address: x.address, member, before, after });
    }
  }
  return {
    changes,
    onlyInA: [...ma.keys()].filter((p) => !mb.has(p)).sort(order),
    onlyInB: [...mb.keys()].filter((p) => !ma.has(p)).sort(order),
  };
}
