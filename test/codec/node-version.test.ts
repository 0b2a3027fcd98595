/**
 * The Node.js the code needs: opening files goes through process.getBuiltinModule (Node.js 20.16),
 * package.json's `engines` says so, and an older Node.js gets one line saying what to do.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/cli/io.js';
import { NODE_MINIMUM, nodeFs, olderThanMinimum } from '../../src/codec/node-fs.js';
import { UsageError } from '../../src/errors.js';
import { errorOf } from '../support/errors.js';

describe('the Node.js version', () => {
  it('engines asks for the version whose API the code uses', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(NODE_MINIMUM).toBe('20.16.0');
    expect(pkg.engines.node).toBe('>=20.16');
    expect(typeof process.getBuiltinModule).toBe('function');
  });

  it('olderThanMinimum compares versions as numbers, part by part', () => {
    for (const v of ['20.0.0', '20.15.1', '20.9.0', '18.20.4', '19.99.99', '20.16'.replace('16', '1')]) expect(olderThanMinimum(v), v).toBe(true);
    for (const v of ['20.16.0', '20.16.1', '20.20.2', '21.0.0', '22.3.0', '100.0.0']) expect(olderThanMinimum(v), v).toBe(false);
  });

  it('an older Node.js (no getBuiltinModule): one line saying which version is needed and what to do, exit 2', () => {
    const e = errorOf(() => nodeFs({ versions: { node: '20.15.1' } }));
    expect(e).toBeInstanceOf(UsageError);
    expect(describeError(e)).toEqual({
      message: 'opening a crash dump or physical image needs Node.js 20.16.0 or later, and this is Node.js 20.15.1: install a newer Node.js (https://nodejs.org) and run it again',
      exit: 2,
    });
  });

  it('no Node.js at all (a browser): pass the bytes instead', () => {
    expect(errorOf(() => nodeFs(null)).message).toBe('reading and writing files needs Node.js (20.16.0 or later): pass the bytes instead');
  });

  it('this Node.js: the real node:fs', () => {
    expect(nodeFs().readFileSync).toBe(readFileSync);
  });
});
