/**
 * node:fs, fetched when a file is first opened rather than imported, so that the library (which
 * never touches files unless asked to) bundles for a browser; there, opening a file says why not.
 *
 * The fetch is process.getBuiltinModule, which Node.js has from 20.16 (and 22.3): the version
 * package.json's `engines` asks for. On an older Node.js, opening a crash dump or a physical
 * image by path says so, and what to do, in one line.
 */
import { UsageError } from '../errors.js';

/** The oldest Node.js that opens files here (process.getBuiltinModule): as `engines` says. */
export const NODE_MINIMUM = '20.16.0';

/** What nodeFs() needs of `process` (a parameter, so that a test can be an older Node). */
export interface NodeRuntime {
  readonly versions?: { readonly node?: string };
  getBuiltinModule?(id: 'node:fs'): typeof import('node:fs');
}

/** Whether version `v` ("20.5.1") is older than NODE_MINIMUM. */
export function olderThanMinimum(v: string): boolean {
  const have = v.split('.').map((n) => Number.parseInt(n, 10));
  const need = NODE_MINIMUM.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    if (!(h === need[i])) return !(h > need[i]!);
  }
  return false;
}

/** node:fs from `runtime` (this process by default; null: no Node.js at all), or a UsageError saying why not. */
export function nodeFs(runtime: NodeRuntime | null = typeof process === 'object' ? (process as NodeRuntime) : null): typeof import('node:fs') {
  const fs = runtime?.getBuiltinModule?.('node:fs');
  if (fs) return fs;
  const version = runtime?.versions?.node;
  if (version !== undefined) {
    throw new UsageError(
      `opening a crash dump or physical image needs Node.js ${NODE_MINIMUM} or later, and this is Node.js ${version}: install a newer Node.js (https://nodejs.org) and run it again`,
    );
  }
  throw new UsageError(`reading and writing files needs Node.js (${NODE_MINIMUM} or later): pass the bytes instead`);
}
