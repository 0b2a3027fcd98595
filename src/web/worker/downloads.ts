/**
 * What the page downloads, made in the Worker by the same library functions as the CLI, so each
 * is the command's output byte for byte: the JSON document (`decode --json`), the annotated
 * hexdump (`hexdump`, `hexdump --json`), the structure exports (`export --format ksy|hexpat|isf`),
 * the edited region, and, for a read-only capture, the tree exported as a region (`encode` of the
 * decoded document) with that region's JSON document.
 */
import { SegmentImage } from '../../codec/image.js';
import { UsageError } from '../../errors.js';
import { type ExportFormat, exportSpec } from '../../export/index.js';
import { type DecodeOptions, decodeBlocks, decodeTree } from '../../tree/decode.js';
import { encodeTree } from '../../tree/encode.js';
import type { MemoryImage } from '../../codec/image.js';
import { writeHexdump } from '../../tree/hexdump.js';
import { writeDocument } from '../../tree/json-stream.js';
import type { DownloadKind, DownloadResult } from '../protocol.js';
import { writableBytes } from './edit.js';
import type { Session } from './session.js';

const text = (name: string, mime: string, s: string): DownloadResult => ({ name, mime, bytes: new TextEncoder().encode(s) });

/** The file name without its folder and last extension. */
const stem = (name: string): string => name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') || 'capture';

function decodeOptions(s: Session): DecodeOptions {
  return { abi: s.abi, ndis: s.ndis, ...(s.operation ? { operation: s.operation } : {}) };
}

function rootOf(s: Session): bigint {
  if (s.root === undefined) throw new UsageError('decode the tree first (give its root and press Decode)');
  return s.root;
}

/** `decode --json` of an image: the document written as the command writes it. */
function documentText(image: MemoryImage, root: bigint, options: DecodeOptions): string {
  let out = '';
  writeDocument(decodeBlocks(image, root, options), (t) => (out += t));
  return out;
}

/** The decoded tree laid out anew as a region (encode of the document), for captures that are read-only. */
function exportedRegion(s: Session): { bytes: Uint8Array; base: bigint } {
  const doc = decodeTree(s.capture.image, rootOf(s), decodeOptions(s));
  const enc = encodeTree(doc, { abi: s.abi, ndis: s.ndis });
  return { bytes: enc.bytes, base: enc.base };
}

export function download(s: Session, kind: DownloadKind): DownloadResult {
  const name = stem(s.capture.name);
  switch (kind) {
    case 'capture':
      return { name: `${name}-edited.bin`, mime: 'application/octet-stream', bytes: writableBytes(s, 'downloading the edited capture').slice() };
    case 'json':
      return text(`${name}.json`, 'application/json', documentText(s.capture.image, rootOf(s), decodeOptions(s)));
    case 'hexdump':
    case 'hexdump-json': {
      const json = kind === 'hexdump-json';
      const parts: string[] = [];
      writeHexdump(decodeBlocks(s.capture.image, rootOf(s), decodeOptions(s)), s.capture.image, json, (t) => parts.push(t));
      return text(`${name}.hexdump.${json ? 'json' : 'txt'}`, json ? 'application/json' : 'text/plain', parts.join(''));
    }
    case 'ksy':
    case 'hexpat':
    case 'isf': {
      // A region's spec starts at its base (export --base); a symbol table has none, and other captures have no first byte to name.
      const base = s.capture.format === 'region' && kind !== 'isf' ? [...s.capture.image.ranges()][0]!.address : undefined;
      const spec = exportSpec(kind as ExportFormat, s.abi, s.ndis, base === undefined ? {} : { base });
      const file = kind === 'isf' ? `ndis_offload-${s.abi.name}.json` : `ndis_offload.${kind}`;
      return text(file, kind === 'isf' ? 'application/json' : 'text/plain', spec);
    }
    case 'region':
      return { name: `${name}-region.bin`, mime: 'application/octet-stream', bytes: exportedRegion(s).bytes };
    case 'region-json': {
      const r = exportedRegion(s);
      return text(`${name}-region.json`, 'application/json', documentText(SegmentImage.region(r.bytes, r.base), r.base, decodeOptions(s)));
    }
    default:
      throw new UsageError(`unknown download '${String(kind)}' (capture, json, hexdump, hexdump-json, ksy, hexpat, isf, region, region-json)`);
  }
}
