/**
 * "Did you mean": the known names closest to a mistyped one, for every error that reports an
 * unknown option, status, enum, structure or command. Case and a leading underscore (WinDbg's
 * `_NDIS_...` tag names) do not count as differences.
 */

/** Edit distance with transpositions (optimal string alignment): `--bsae` is one step from `--base`. */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

const normal = (s: string): string => s.toLowerCase().replace(/^_+/, '');

/**
 * Up to `limit` candidates nearest to `word`, nearest first (ties in the candidates' order): those
 * within a third of the word's length in edits, and those that contain it or that it contains
 * (`SUCCESS` finds `NDIS_STATUS_SUCCESS`). Empty when nothing is near.
 */
export function closestNames(word: string, candidates: Iterable<string>, limit = 3): string[] {
  const w = normal(word);
  if (!w) return [];
  const scored: { name: string; score: number; order: number }[] = [];
  let order = 0;
  for (const name of candidates) {
    const c = normal(name);
    const distance = editDistance(w, c);
    const within = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
    let score = Number.POSITIVE_INFINITY;
    if (distance <= within) score = distance;
    else if (w.length >= 3 && (c.includes(w) || w.includes(c))) score = within + 1 + Math.abs(c.length - w.length) / 1000;
    if (Number.isFinite(score)) scored.push({ name, score, order: order++ });
  }
  scored.sort((x, y) => x.score - y.score || x.order - y.order);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const s of scored) {
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    out.push(s.name);
    if (out.length === limit) break;
  }
  return out;
}

/** ` (did you mean X, Y or Z?)`, or '' when nothing is near: appended to an "unknown ..." message. */
export function didYouMean(word: string, candidates: Iterable<string>, limit = 3): string {
  const near = closestNames(word, candidates, limit);
  if (!near.length) return '';
  const list = near.length === 1 ? near[0]! : `${near.slice(0, -1).join(', ')} or ${near[near.length - 1]}`;
  return ` (did you mean ${list}?)`;
}
