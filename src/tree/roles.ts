/** Block roles, from MiniportOffloadContext and the PVOID cell it points to. */
import { type Location, type MemoryImage, joinHalves } from '../codec/image.js';
import type { Role } from './document.js';

export interface Classification {
  role: Role;
  /** The PVOID in the cell MiniportOffloadContext points to; undefined when NULL or outside the image. */
  cell?: bigint;
  /** True when the cell is outside the image, so the role could not be read from the bytes. */
  cellMissing: boolean;
}

/**
 * placeholder: MiniportOffloadContext is NULL. new offload: it points to a NULL PVOID (the target
 * writes its context there). linker: it points to a non-NULL PVOID (an object already offloaded).
 * When the cell is not in the image, `stateFollows` (inferred from the bytes) decides between the
 * two, and `cellMissing` says so.
 */
export function classify(
  context: bigint,
  image: MemoryImage,
  ptrSize: number,
  scratch: Location,
  stateFollows: () => boolean,
): Classification {
  if (context === 0n) return { role: 'placeholder', cellMissing: false };
  if (!image.locate(context, ptrSize, scratch)) {
    return { role: stateFollows() ? 'new-offload' : 'linker', cellMissing: true };
  }
  const cell =
    ptrSize === 8
      ? joinHalves(scratch.view.getUint32(scratch.offset, true), scratch.view.getUint32(scratch.offset + 4, true))
      : BigInt(scratch.view.getUint32(scratch.offset, true));
  return { role: cell === 0n ? 'new-offload' : 'linker', cell, cellMissing: false };
}
