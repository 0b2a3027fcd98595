/** Addresses as people type them (the CLI's options, the inspector's fields): one parser for both. */
import { UsageError } from '../errors.js';

/** Parses `0xffff...`, `ffff...` or a windbg-style `ffffc70a`12340000`; bigint, never a lossy number. `what` names the field in the error. */
export function parseAddress(text: string, what: string): bigint {
  const clean = text.replace(/`/g, '').replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(clean)) {
    throw new UsageError(`${what}: '${text}' is not a hexadecimal address of at most 64 bits`);
  }
  return BigInt(`0x${clean}`);
}
