/**
 * The base of every generated view: a DataView and a base offset, repointed with `at()` so that a
 * loop over many structures reuses one object (a flyweight). Views read and write the image in
 * place; values are stored as C would store them (truncated to the member's width).
 */
import { BoundsError } from '../errors.js';
import type { Location } from './image.js';

const EMPTY = new DataView(new ArrayBuffer(0));

export abstract class ViewBase {
  view: DataView = EMPTY;
  base = 0;

  /** Points this view at `base` in `view`; returns this, for chaining. */
  at(view: DataView, base: number): this {
    this.view = view;
    this.base = base;
    return this;
  }

  /** Points this view at a located range. */
  atLocation(loc: Location): this {
    this.view = loc.view;
    this.base = loc.offset;
    return this;
  }
}

/** Index check for array members: a view never reads outside its structure. */
export function checkIndex(member: string, index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new BoundsError(`${member}[${index}]`, index, 1, count);
  }
}
