/**
 * The JSON forms of a tree written as its blocks are decoded (decodeBlocks), in memory bounded by
 * one block, whatever the size of the tree:
 * - writeDocument: the ndis-offload-tree/1 document, byte for byte `JSON.stringify(doc, null, 2)`
 *   and a newline (diagnostics are its last member, so they are written once the blocks are);
 * - writeNdjson: one line per block (its path and members, without dependents), after a line with
 *   the document's head and before one line per diagnostic (docs/json-format.md, "NDJSON").
 * Output goes to a function taking strings; chunkedSink batches it into writes of about 64 KiB.
 */
import type { BlockStream } from './decode.js';
import type { Diagnostic } from './document.js';

export type Sink = (text: string) => void;

/** Chunks of at least this many characters are handed on by chunkedSink. */
export const CHUNK_CHARS = 64 * 1024;

export interface ChunkedSink {
  /** Queues text, handing on a chunk once CHUNK_CHARS are queued. */
  write: Sink;
  /** Hands on what is queued. */
  flush(): void;
}

/** Batches many small strings into few writes of about `chunk` characters. */
export function chunkedSink(write: Sink, chunk = CHUNK_CHARS): ChunkedSink {
  let queued = '';
  return {
    write(text: string): void {
      queued += text;
      if (queued.length >= chunk) {
        write(queued);
        queued = '';
      }
    },
    flush(): void {
      if (queued.length > 0) write(queued);
      queued = '';
    },
  };
}

const spaces = (n: number): string => ' '.repeat(n);

/** JSON.stringify(value, null, 2) as it reads `indent` spaces in. */
const indented = (value: unknown, indent: string): string => JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);

/**
 * Writes the document of `stream` to `out`: what `JSON.stringify(decodeTree(...), null, 2) + '\n'`
 * gives, block by block. Keeps one flag per open list (a layer: at most four).
 */
export function writeDocument(stream: BlockStream, out: Sink): void {
  const head = JSON.stringify(stream.head, null, 2);
  // The head without its closing brace, then `blocks`, whose `[` waits for its first block (or `[]`).
  out(`${head.slice(0, head.length - 2)},\n  "blocks": `);
  /** open[k]: whether the list at depth k (0: blocks; k: the dependents of the open block at depth k - 1) has an element yet. */
  const open: boolean[] = [false];
  const close = (): void => {
    const depth = open.length - 1;
    const had = open.pop()!;
    // A list's `]` sits under its key: 2 spaces in for blocks, 4 * depth + 2 for dependents.
    out(had ? `\n${spaces(4 * depth + 2)}]` : '[]');
    if (depth > 0) out(`\n${spaces(4 * depth)}}`);
  };
  for (const { depth, block } of stream) {
    if (depth >= open.length) throw new Error(`writeDocument: a block at depth ${depth} with ${open.length - 1} open`);
    while (open.length > depth + 1) close();
    out(open[depth] ? ',\n' : '[\n');
    open[depth] = true;
    // Its members without the closing brace, then `dependents`, left open for the blocks that follow.
    out(`${nested(depth, block)},\n${spaces(4 * depth + 6)}"dependents": `);
    open.push(false);
  }
  while (open.length > 0) close();
  out(`,\n  "diagnostics": ${indented(stream.diagnostics, '  ')}\n}\n`);
}

/** Per depth: the arrays a block is wrapped in so that JSON.stringify indents it as it sits, and the lengths to cut. */
const wrappers: { outer: unknown[]; inner: unknown[]; head: number; tail: number }[] = [];

/**
 * A block's text as it sits in the document at `depth` (4 * depth + 4 spaces in), without its
 * closing line: JSON.stringify(block, null, 2) indents natively when the block is wrapped in
 * k = 2 * depth + 2 arrays, whose lines (k (k + 1) characters before, k^2 + 3k + 2 after, the
 * block's own closing line included) are cut off. Faster than re-indenting the text.
 */
function nested(depth: number, block: unknown): string {
  let w = wrappers[depth];
  if (!w) {
    const k = 2 * depth + 2;
    const inner: unknown[] = [];
    let outer = inner;
    for (let i = 1; i < k; i++) outer = [outer];
    wrappers[depth] = w = { outer, inner, head: k * (k + 1), tail: k * k + 3 * k + 2 };
  }
  w.inner[0] = block;
  const text = JSON.stringify(w.outer, null, 2);
  w.inner[0] = undefined;
  return text.slice(w.head, text.length - w.tail);
}

/** A line of the NDJSON form: what it holds. */
export type NdjsonKind = 'document' | 'block' | 'diagnostic';

/**
 * Writes the NDJSON form of `stream` to `out`: `{"kind":"document", ...head}`, then per block
 * `{"kind":"block","path":..., ...members}` in document order (no `dependents`: the path says
 * where a block sits), then per diagnostic `{"kind":"diagnostic", ...diagnostic}`.
 */
export function writeNdjson(stream: BlockStream, out: Sink): void {
  out(`${JSON.stringify({ kind: 'document', ...stream.head })}\n`);
  // `{"kind":"block","path":…,` and the block's members: its text after its `{` (no copy of the object).
  for (const { path, block } of stream) out(`{"kind":"block","path":${JSON.stringify(path)},${JSON.stringify(block).slice(1)}\n`);
  for (const d of stream.diagnostics) out(`${JSON.stringify(diagnosticLine(d))}\n`);
}

const diagnosticLine = (d: Diagnostic): Record<string, unknown> => ({ kind: 'diagnostic', ...d });
