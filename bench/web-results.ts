/**
 * The web cases' names, result shape and targets (bench/web.ts measures them in Chromium; this
 * module needs no DOM types, so that bench/run.ts and bench/report.ts can import it).
 */
/** A row of the targets table (bench/report.ts's TargetRow; declared here so that this module pulls in nothing: test/web's tsconfig checks it too). */
export interface WebTargetRow {
  group: string;
  what: string;
  value: number | undefined;
  target: string;
  met: boolean | undefined;
  unit: 'MB' | 'ms' | 'KB';
}

export const WEB_GROUP = 'web';
export const WEB_CASE_NAMES: readonly string[] = ['web/open-sample', 'web/open-dump@2g', 'web/select'];

/** One web case in results.json: a CaseResult (bench/cases.ts) with the heaps measured after it. */
export interface WebCaseResult {
  name: string;
  /** 0: the cases time a page, not a walk (no time per block in the table). */
  blocks: number;
  /** Blocks in the tree the case shows. */
  treeBlocks: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
  warmup: number;
  /** Size of the capture opened. */
  imageBytes?: number;
  /** The page's JS heap in use after the case, garbage collected (CDP JSHeapUsedSize). */
  pageHeapBytes?: number;
  /** The Worker's JS heap in use after the case (CDP Runtime.getHeapUsage), when its target could be reached. */
  workerHeapBytes?: number;
}

/** The sizes of the built web inspector's files: bytes and gzipped bytes. */
export type WebBundle = Record<string, { bytes: number; gzip: number }>;

const MB = 1024 * 1024;

/** The targets for the web cases, and the bundle's gzipped size for context. */
export function webTargets(cases: readonly { name: string; medianMs: number }[], bundle: WebBundle | undefined): WebTargetRow[] {
  const c = new Map(cases.map((x) => [x.name, x as WebCaseResult]));
  const rows: WebTargetRow[] = [];
  const within = (name: string, limit: number): void => {
    const v = c.get(name)?.medianMs;
    rows.push({ group: WEB_GROUP, what: `${name}: median`, value: v, target: `< ${limit} ms`, met: v === undefined ? undefined : v < limit, unit: 'ms' });
  };
  within('web/open-sample', 1000);
  within('web/open-dump@2g', 3000);
  within('web/select', 50);
  for (const name of WEB_CASE_NAMES) {
    const r = c.get(name);
    const heap = r?.pageHeapBytes === undefined ? undefined : (r.pageHeapBytes + (r.workerHeapBytes ?? 0)) / MB;
    rows.push({ group: WEB_GROUP, what: `${name}: page + Worker JS heap after`, value: heap, target: '< 100 MB', met: heap === undefined ? undefined : heap < 100, unit: 'MB' });
  }
  const js = bundle?.['inspector.js'];
  rows.push({ group: WEB_GROUP, what: '(context) dist/web/inspector.js gzipped', value: js === undefined ? undefined : js.gzip / 1024, target: '–', met: undefined, unit: 'KB' });
  return rows;
}
