/**
 * The parts of restructure 3.0.2 this project uses (the package ships no types). Checked against
 * node_modules/restructure/index.js and src/*.js: Base (fromBuffer/toBuffer) is not exported,
 * only its subclasses are.
 */
declare module 'restructure' {
  /** What restructure passes as `parent` while encoding a Struct: `val` is the struct's value. */
  export interface EncodeContext {
    parent?: unknown;
    val?: unknown;
    pointerSize?: number;
    [key: string]: unknown;
  }

  export class DecodeStream {
    constructor(buffer: Uint8Array);
    buffer: Uint8Array;
    view: DataView;
    pos: number;
    length: number;
    readBuffer(length: number): Uint8Array;
  }

  export class EncodeStream {
    constructor(buffer: Uint8Array);
    buffer: Uint8Array;
    view: DataView;
    pos: number;
    writeBuffer(buffer: Uint8Array): void;
    fill(value: number, length: number): void;
  }

  /** Anything with decode/encode/size can be a member of a Struct (restructure's custom types). */
  export interface Type<T = unknown> {
    decode(stream: DecodeStream, parent?: unknown): T;
    encode(stream: EncodeStream, value: T, parent?: unknown): void;
    size(value?: T | null, parent?: unknown): number;
  }

  abstract class Base<T> implements Type<T> {
    fromBuffer(buffer: Uint8Array): T;
    toBuffer(value: T): Uint8Array;
    abstract decode(stream: DecodeStream, parent?: unknown): T;
    abstract encode(stream: EncodeStream, value: T, parent?: unknown): void;
    abstract size(value?: T | null, parent?: unknown): number;
  }

  export class Number extends Base<number> {
    constructor(type: string, endian?: 'BE' | 'LE');
    decode(stream: DecodeStream): number;
    encode(stream: EncodeStream, value: number): void;
    size(): number;
  }
  export const uint8: Number;
  export const uint16le: Number;
  export const uint32le: Number;
  export const int32le: Number;

  export class Struct<T = Record<string, unknown>> extends Base<T> {
    constructor(fields?: Record<string, Type<any>>);
    fields: Record<string, Type<any>>;
    decode(stream: DecodeStream, parent?: unknown, length?: number): T;
    encode(stream: EncodeStream, value: T, parent?: unknown): void;
    size(value?: T | null, parent?: unknown, includePointers?: boolean): number;
  }

  export class Array<T> extends Base<T[]> {
    constructor(type: Type<T>, length: number, lengthType?: 'count' | 'bytes');
    type: Type<T>;
    length: number;
    decode(stream: DecodeStream, parent?: unknown): T[];
    encode(stream: EncodeStream, value: T[], parent?: unknown): void;
    size(value?: T[] | null, parent?: unknown): number;
  }

  /** Skips `count` items of `type` when decoding (no member is set), writes zeros when encoding. */
  export class Reserved extends Base<undefined> {
    constructor(type: Type<any>, count?: number);
    decode(stream: DecodeStream, parent?: unknown): undefined;
    encode(stream: EncodeStream, value: unknown, parent?: unknown): void;
    size(value?: unknown, parent?: unknown): number;
  }

  // Only what is marked `export` above is exported (Base is not, at run time either).
  export {};
}
