/**
 * The hand-written baselines: the same walks written for this one layout (x64, NDIS 6.1), with
 * the offsets as constants. The practical limit of JavaScript for this work: every 64-bit pointer
 * read as two 32-bit halves and turned into an offset with plain number arithmetic, no BigInt,
 * no allocation per block, nested loops instead of a generic walker. They trust the bytes (no
 * cycle protection, no diagnostics): the library does more, and is measured against this floor.
 */

// NDIS_MINIPORT_OFFLOAD_BLOCK_LIST on x64 (docs/layout.md), and TCP_OFFLOAD_STATE_CONST after it.
const NEXT = 8;
const DEP = 16;
const STATUS = 24;
const CTX = 48;
const BLOCK = 152;
const REMOTE_PORT = BLOCK + 10;
const LOCAL_PORT = BLOCK + 12;
const TWO32 = 4294967296;

/** Offset of the block a pointer at `at` points to, or -1 for NULL. */
function link(dv: DataView, at: number, baseLo: number, baseHi: number): number {
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  if (lo === 0 && hi === 0) return -1;
  return (hi - baseHi) * TWO32 + (lo - baseLo);
}

/** walk-read/hand-dataview: the sum of LocalPort + RemotePort over the TCP blocks. */
export function handWalk(dv: DataView, baseLo: number, baseHi: number, root: number): number {
  let sum = 0;
  for (let n = root; n >= 0; n = link(dv, n + NEXT, baseLo, baseHi)) {
    for (let p = link(dv, n + DEP, baseLo, baseHi); p >= 0; p = link(dv, p + NEXT, baseLo, baseHi)) {
      for (let t = link(dv, p + DEP, baseLo, baseHi); t >= 0; t = link(dv, t + NEXT, baseLo, baseHi)) {
        sum += dv.getUint16(t + LOCAL_PORT, true) + dv.getUint16(t + REMOTE_PORT, true);
      }
    }
  }
  return sum;
}

/** walk-read/hand-bigint: the same with getBigUint64 per pointer, for context. */
export function handWalkBigInt(dv: DataView, base: bigint, root: number): number {
  let sum = 0;
  const at = (o: number): number => {
    const p = dv.getBigUint64(o, true);
    return p === 0n ? -1 : Number(p - base);
  };
  for (let n = root; n >= 0; n = at(n + NEXT)) {
    for (let p = at(n + DEP); p >= 0; p = at(p + NEXT)) {
      for (let t = at(p + DEP); t >= 0; t = at(t + NEXT)) {
        sum += dv.getUint16(t + LOCAL_PORT, true) + dv.getUint16(t + REMOTE_PORT, true);
      }
    }
  }
  return sum;
}

const PLACEHOLDER = 0;
const LINKER = 1;
const NEW = 2;
const SUCCESS = 0;
const PARTIAL = 0x40020004;
const FAILURE = 0xc0000001 | 0;

/** The role of the block at `o`, from MiniportOffloadContext and the cell it points to. */
function role(dv: DataView, o: number, baseLo: number, baseHi: number): number {
  const cell = link(dv, o + CTX, baseLo, baseHi);
  if (cell < 0) return PLACEHOLDER;
  if (cell + 8 > dv.byteLength) return NEW; // outside the image: the target decides
  return dv.getUint32(cell, true) === 0 && dv.getUint32(cell + 4, true) === 0 ? NEW : LINKER;
}

/** Status of a block of `r` in initiate, given the statuses of its dependents. */
function decide(r: number, status: number, ok: number, deps: number): number {
  if (r === PLACEHOLDER) return SUCCESS;
  if (r === LINKER) return ok === deps ? SUCCESS : ok === 0 ? FAILURE : PARTIAL;
  return status;
}

/**
 * status-write/hand-dataview: completes an initiate with `status` for every new offload (a status
 * initiate allows): placeholders SUCCESS, linkers by how their dependents fared. Blocks are
 * written as their subtrees complete, one pass.
 */
export function handStatusWrite(dv: DataView, baseLo: number, baseHi: number, root: number, status: number): number {
  let blocks = 0;
  for (let n = root; n >= 0; n = link(dv, n + NEXT, baseLo, baseHi)) {
    let nOk = 0;
    let nDeps = 0;
    for (let p = link(dv, n + DEP, baseLo, baseHi); p >= 0; p = link(dv, p + NEXT, baseLo, baseHi)) {
      let pOk = 0;
      let pDeps = 0;
      for (let t = link(dv, p + DEP, baseLo, baseHi); t >= 0; t = link(dv, t + NEXT, baseLo, baseHi)) {
        const s = decide(role(dv, t, baseLo, baseHi), status, 0, 0);
        dv.setInt32(t + STATUS, s, true);
        pDeps++;
        if (s >= 0) pOk++;
        blocks++;
      }
      const s = decide(role(dv, p, baseLo, baseHi), status, pOk, pDeps);
      dv.setInt32(p + STATUS, s, true);
      nDeps++;
      if (s >= 0) nOk++;
      blocks++;
    }
    dv.setInt32(n + STATUS, decide(role(dv, n, baseLo, baseHi), status, nOk, nDeps), true);
    blocks++;
  }
  return blocks;
}
