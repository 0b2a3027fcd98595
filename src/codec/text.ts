/**
 * Text that comes from a capture (a dump's comment or signature, a version string) is the
 * capture's author's, not ours: printed raw, its control characters and escape sequences would
 * reach the user's terminal (move the cursor, rewrite earlier lines, set the title, reorder the
 * line with bidi overrides). Everything that prints such text goes through these two functions.
 *
 * - escapeText: for plain text. C0 controls (U+0000..U+001F), DEL (U+007F) and C1 controls
 *   (U+0080..U+009F, CSI U+009B among them) become `\xNN`, the bidi embeddings, overrides and
 *   isolates (U+202A..U+202E, U+2066..U+2069) `\u{NNNN}`, and the backslash itself `\\`, so that
 *   the escaped text is unambiguous. Everything else is kept.
 * - jsonText: JSON.stringify, with the characters it leaves raw (DEL, C1, bidi) written as
 *   `\uNNNN` too: the JSON value is the exact text, the JSON text is safe to print.
 */

/** The characters escapeText escapes (the backslash aside). */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\\]/g;
/** The unsafe characters JSON.stringify leaves as they are. */
const JSON_RAW = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const hex2 = (c: number): string => c.toString(16).padStart(2, '0');
const hex4 = (c: number): string => c.toString(16).padStart(4, '0');

/** `s` with every control character and bidi override escaped (see the file comment). */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (ch) => {
    const c = ch.charCodeAt(0);
    if (ch === '\\') return '\\\\';
    return c <= 0xff ? `\\x${hex2(c)}` : `\\u{${hex4(c)}}`;
  });
}

const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A message of ours that may quote input we did not escape (a parser's error quoting the bytes
 * it choked on): its control characters and bidi overrides escaped as escapeText does, its
 * backslashes and newlines kept (they are ours).
 */
export function escapeControls(s: string): string {
  return s.replace(CONTROLS, (ch) => {
    const c = ch.charCodeAt(0);
    return c <= 0xff ? `\\x${hex2(c)}` : `\\u{${hex4(c)}}`;
  });
}

/** `s` escaped and in double quotes, for messages (a quote inside is escaped too). */
export const quoteText = (s: string): string => `"${escapeText(s).replace(/"/g, '\\"')}"`;

/** JSON.stringify(value, null, space), with DEL, C1 controls and bidi overrides written as \uNNNN. */
export function jsonText(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_RAW, (ch) => `\\u${hex4(ch.charCodeAt(0))}`);
}
