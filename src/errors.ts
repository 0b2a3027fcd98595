/**
 * Typed errors: every one has a stable `code`, public fields a program can read, and a message
 * built from them. `instanceof` works on all of them after compilation to CommonJS too.
 */
export class OffloadError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A descriptor that cannot be laid out (unknown type, bit-field too wide, duplicate member). */
export class LayoutError extends OffloadError {
  constructor(
    readonly structName: string,
    readonly member: string,
    detail: string,
  ) {
    super('LAYOUT', `${structName}.${member}: ${detail}`);
  }
}

/** Bad arguments from a caller or the command line. */
export class UsageError extends OffloadError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** An address that is not in the captured memory (or NULL where a structure is required). */
export class AddressError extends OffloadError {
  constructor(
    readonly address: bigint,
    readonly size: number,
    readonly path: string,
    /** What is wrong with the range, as a predicate: MemoryImage.explain's text. */
    readonly detail = 'is outside the captured memory',
  ) {
    super('ADDRESS', `${path}: ${hex(address)} (+${size} bytes) ${detail}`);
  }
}

/** A read or write past the end of a buffer. */
export class BoundsError extends OffloadError {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly need: number,
    readonly have: number,
  ) {
    super('BOUNDS', `${path} @${hex(offset)}: need ${need} bytes, have ${have}`);
  }
}

/** A JSON document that cannot be encoded: the path in the document says where. */
export class EncodeError extends OffloadError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('ENCODE', `${path}: ${detail}`);
  }
}

/** A document or file that cannot be decoded at all (not even partially). */
export class DecodeError extends OffloadError {
  constructor(
    readonly offset: number | undefined,
    detail: string,
  ) {
    super('DECODE', offset === undefined ? detail : `@${hex(offset)}: ${detail}`);
  }
}

/**
 * A crash dump (or physical image) whose header or metadata cannot be trusted. `fileOffset` is
 * where in the file the problem is: the offending header field, or the first missing byte when
 * the header itself is cut short.
 */
export class DumpError extends OffloadError {
  constructor(
    readonly fileOffset: number,
    detail: string,
  ) {
    super('DUMP', `dump @${hex(fileOffset)}: ${detail}`);
  }
}

/** Two segments of an image that overlap and disagree about a byte there: which one is the capture? */
export class SegmentOverlapError extends OffloadError {
  constructor(
    /** Names of the two segments (file names, or where they start). */
    readonly first: string,
    readonly second: string,
    /** The first address where they differ, and the byte each holds there. */
    readonly address: bigint,
    readonly firstByte: number,
    readonly secondByte: number,
  ) {
    const b = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;
    super('SEGMENT_OVERLAP', `segments ${first} and ${second} overlap and disagree at ${hex(address)} (${b(firstByte)} in ${first}, ${b(secondByte)} in ${second}): give segments that agree, or that do not overlap`);
  }
}

/**
 * A memory capture (LiME, an ELF core) whose container metadata cannot be trusted: `fileOffset`
 * is the offset of the field at fault, or of the first missing byte when the file is cut short.
 */
export class CaptureError extends OffloadError {
  constructor(
    readonly format: string,
    readonly fileOffset: number,
    detail: string,
  ) {
    super('CAPTURE', `${format} @${hex(fileOffset)}: ${detail}`);
  }
}
