/**
 * node:fs, fetched when a file is first opened rather than imported, so that the library (which
 * never touches files unless asked to) bundles for a browser; there, opening a file says why not.
 */
import { UsageError } from '../errors.js';

export function nodeFs(): typeof import('node:fs') {
  const fs = typeof process === 'object' ? process.getBuiltinModule?.('node:fs') : undefined;
  if (!fs) throw new UsageError('reading and writing files needs Node.js (20.16 or later): pass the bytes instead');
  return fs;
}
