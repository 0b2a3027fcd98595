/**
 * One walk, two cursors: what BlockChains' nested loops visit and what a bound-mode TreeWalker
 * visits, in a form that compares (each block as `layer:address:stateOffset`, then the error that
 * ended the walk, if any: its class, reason and the address it names).
 */
import { AddressError, OffloadError } from '../../src/errors.js';
import type { MemoryImage } from '../../src/codec/image.js';
import type { Abi } from '../../src/layout/abi.js';
import { BlockChains } from '../../src/tree/chains.js';
import { TreeWalker, WalkError } from '../../src/tree/walk.js';

export interface Trace {
  blocks: string[];
  error?: string;
}

/** The state size both cursors are asked for after each block: any size works, this one ends near some captures' end. */
export const STATE_PROBE = 24;

const visit = (layer: number, address: bigint, state: number): string => `${layer}:0x${address.toString(16)}:${state}`;

function ended(e: unknown): string {
  if (e instanceof WalkError) return `WalkError ${e.reason} 0x${e.address.toString(16)} after ${e.blocks}`;
  if (e instanceof AddressError) return `AddressError 0x${e.address.toString(16)}`;
  if (e instanceof OffloadError) return `${e.constructor.name} ${e.message}`;
  // Anything else (a RangeError above all) is a bug in the cursor: let the test see it as it is.
  throw e;
}

/** The three layers as three nested loops over BlockChains. */
export function chainsTrace(image: MemoryImage, root: bigint, abi: Abi, maxBlocks?: number): Trace {
  const c = new BlockChains(image, { abi, ...(maxBlocks === undefined ? {} : { maxBlocks }) });
  const blocks: string[] = [];
  try {
    for (let n = c.root(root); n >= 0; n = c.next(n)) {
      blocks.push(visit(0, c.address(n), c.stateAt(n, STATE_PROBE)));
      for (let p = c.dependents(n); p >= 0; p = c.next(p)) {
        blocks.push(visit(1, c.address(p), c.stateAt(p, STATE_PROBE)));
        for (let t = c.dependents(p); t >= 0; t = c.next(t)) blocks.push(visit(2, c.address(t), c.stateAt(t, STATE_PROBE)));
      }
    }
  } catch (e) {
    return { blocks, error: ended(e) };
  }
  return { blocks };
}

/** The same walk with TreeWalker (bound mode, the default). */
export function walkerTrace(image: MemoryImage, root: bigint, abi: Abi, maxBlocks?: number): Trace {
  const w = new TreeWalker({ abi, ...(maxBlocks === undefined ? {} : { maxBlocks }) });
  const blocks: string[] = [];
  try {
    w.reset(image, root);
    while (w.next()) blocks.push(visit(w.layer, w.address(), w.stateAt(STATE_PROBE)));
  } catch (e) {
    return { blocks, error: ended(e) };
  }
  return { blocks };
}
