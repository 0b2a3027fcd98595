import { UsageError } from '../errors.js';

/** The target ABI: what a pointer is. Everything else (LLP64, natural alignment) is shared. */
export type AbiName = 'x64' | 'x86';

export interface Abi {
  readonly name: AbiName;
  readonly pointerSize: 4 | 8;
  /** How windbg prints a pointer type: `Ptr64` / `Ptr32`. */
  readonly pointerKeyword: 'Ptr64' | 'Ptr32';
}

export const X64: Abi = Object.freeze({ name: 'x64', pointerSize: 8, pointerKeyword: 'Ptr64' });
export const X86: Abi = Object.freeze({ name: 'x86', pointerSize: 4, pointerKeyword: 'Ptr32' });
export const ABIS: readonly Abi[] = [X64, X86];

export function abiByName(name: string): Abi {
  const abi = ABIS.find((a) => a.name === name);
  if (!abi) throw new UsageError(`unknown ABI '${name}' (expected x64 or x86)`);
  return abi;
}
