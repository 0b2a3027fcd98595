/**
 * The scale chart: time per TCP block against tree size (log scale) for the library's walks (BlockChains, TreeWalker),
 * the hand-written DataView walk and the C walk, as a self-contained SVG built from results.json.
 *
 *   npx tsx bench/chart.ts [bench/results.json] [docs/performance-scale.svg]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Results } from './report.js';

const SERIES = [
  { prefix: 'walk-read/zero-copy', label: 'zero-copy (BlockChains)', color: '#1f77b4' },
  { prefix: 'walk-read/tree-walker', label: 'TreeWalker', color: '#17becf' },
  { prefix: 'walk-read/hand-dataview', label: 'hand-written DataView', color: '#ff7f0e' },
  { prefix: 'walk-read/native-c', label: 'C (gcc -O2)', color: '#2ca02c' },
  { prefix: 'status-write/zero-copy', label: 'status write (StatusWriter)', color: '#9467bd' },
] as const;
const SIZES = ['10k', '100k', '1m'] as const;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function scaleChart(results: Results): string {
  const W = 640;
  const H = 400;
  const L = 70;
  const R = 230;
  const T = 40;
  const B = 60;
  const points = SERIES.map((s) => ({
    ...s,
    points: SIZES.flatMap((size) => {
      const c = results.cases.find((x) => x.name === `${s.prefix}@${size}`);
      return c ? [{ blocks: c.blocks, ns: (c.medianMs * 1e6) / c.blocks }] : [];
    }),
  }));
  const all = points.flatMap((s) => s.points);
  const maxNs = Math.max(1, ...all.map((p) => p.ns));
  const yMax = Math.ceil((maxNs * 1.1) / 5) * 5;
  const xs = [...new Set(all.map((p) => p.blocks))].sort((a, b) => a - b);
  const lx = (n: number): number => Math.log10(n);
  const x0 = lx(xs[0] ?? 1e4) - 0.25;
  const x1 = lx(xs[xs.length - 1] ?? 1e6) + 0.25;
  const px = (n: number): number => L + ((lx(n) - x0) / (x1 - x0)) * (W - L - R);
  const py = (ns: number): number => T + (1 - ns / yMax) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">Time per TCP block against tree size (median)</text>`);
  // Axes and grid.
  const step = yMax <= 20 ? 2 : yMax <= 50 ? 5 : 10;
  for (let y = 0; y <= yMax; y += step) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${y}</text>`);
  }
  for (const n of xs) {
    out.push(`<line x1="${px(n)}" x2="${px(n)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${px(n)}" y="${H - B + 16}" text-anchor="middle">${n.toLocaleString('en-US')}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">TCP blocks in the tree (log scale)</text>`);
  out.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">ns per TCP block</text>`);
  // Series.
  points.forEach((s, i) => {
    if (s.points.length) {
      const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${px(p.blocks).toFixed(1)} ${py(p.ns).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.prefix.startsWith('status') ? ' stroke-dasharray="5 3"' : ''}/>`);
      for (const p of s.points) {
        out.push(`<circle cx="${px(p.blocks).toFixed(1)}" cy="${py(p.ns).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(s.label)}: ${p.ns.toFixed(1)} ns at ${p.blocks}</title></circle>`);
        out.push(`<text x="${(px(p.blocks) + 6).toFixed(1)}" y="${(py(p.ns) - 6).toFixed(1)}" fill="${s.color}" font-size="10">${p.ns.toFixed(1)}</text>`);
      }
    }
    const ly = T + 10 + i * 20;
    out.push(`<line x1="${W - R + 20}" x2="${W - R + 44}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.prefix.startsWith('status') ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${W - R + 50}" y="${ly + 4}">${esc(s.label)}${s.points.length ? '' : ' (not run)'}</text>`);
  });
  const m = results.machine;
  out.push(`<text x="${W - R + 20}" y="${H - B - 24}" font-size="10" fill="#555">${esc(String(m.cpu ?? '')).slice(0, 40)}</text>`);
  out.push(`<text x="${W - R + 20}" y="${H - B - 10}" font-size="10" fill="#555">Node ${esc(String(m.node ?? ''))}, ${esc(String(m.date ?? '').slice(0, 10))}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [input = 'bench/results.json', output = 'docs/performance-scale.svg'] = process.argv.slice(2);
  writeFileSync(output, scaleChart(JSON.parse(readFileSync(input, 'utf8')) as Results));
  console.log(`wrote ${output}`);
}
