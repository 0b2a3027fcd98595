// The programs of a user of the published package, as text: test/package/package.test.ts writes
// them into a consumer project that installed the packed tarball, type-checks them strictly and
// runs them. (Text, not .ts files of the repository: here 'ndis-offload' would not resolve.)

/** A Node program over the main API; prints two lines the test knows. Valid as ESM and CommonJS. */
export const NODE_CONSUMER = `import { readFileSync } from 'node:fs';
import {
  OffloadError,
  SegmentImage,
  StatusWriter,
  X64,
  decodeTree,
  diffTrees,
  encodeOntoCopy,
  encodeTree,
  isNetworkOrder,
  layoutOf,
  openDump,
  restructureCodecFor,
  scanImage,
  viewsFor,
  type Diagnostic,
  type ScanCandidate,
  type TreeDiff,
  type TreeDocument,
} from 'ndis-offload';

const dir = process.argv[2] ?? 'fixtures';
const base = 0xffffc70a12340000n;
const bytes = new Uint8Array(readFileSync(\`\${dir}/sample-x64.bin\`));
const doc: TreeDocument = decodeTree(SegmentImage.region(bytes, base), base, { operation: 'initiate' });
const problems: Diagnostic[] = doc.diagnostics.filter((d) => d.severity !== 'info');

const copy = SegmentImage.region(bytes.slice(), base);
const summary = new StatusWriter().complete(copy, base, { operation: 'initiate', status: 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES' });
const diff: TreeDiff = diffTrees(doc, decodeTree(copy, base, { operation: 'initiate' }));

const dump = openDump(\`\${dir}/sample-x64.dmp\`);
const roots: ScanCandidate[] = scanImage(dump.image());
const fromDump = decodeTree(dump.image(), roots[0]!.address, { operation: 'initiate' });
dump.close();

const again = encodeOntoCopy(doc, bytes, base); // a decoded document encodes back onto its capture
const encoded = encodeTree({ abi: 'x64', blocks: [{ role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: { VlanId: 20 } } }] });
const { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, TCP_OFFLOAD_STATE_CONST } = viewsFor(X64, '6.1');
const tcp = new TCP_OFFLOAD_STATE_CONST().at(new DataView(bytes.buffer), 0x178 + NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.size);
const codec = restructureCodecFor('TCP_OFFLOAD_STATE_CONST', X64);
let refused = '';
try {
  layoutOf('NO_SUCH_STRUCT', X64);
} catch (e) {
  refused = e instanceof OffloadError ? e.code : String(e);
}

console.log(doc.blocks.length, problems.length, summary.blocks, diff.changes.length, roots[0]!.address.toString(16), fromDump.blocks.length);
console.log(encoded.bytes.length, tcp.RemotePortHost, isNetworkOrder('TCP_OFFLOAD_STATE_CONST', 'RemotePort'), codec.size(), refused, again.every((b, i) => b === bytes[i]));
`;

/** What NODE_CONSUMER prints over the sample captures. */
export const NODE_CONSUMER_OUTPUT = '2 0 10 8 ffffc70a12340f80 2\n208 445 true 24 USAGE true\n';

/** A library for a browser: no Node types, no DOM, only ES2022; the capture API over bytes. */
export const BROWSER_CONSUMER = `import {
  BufferSource,
  SegmentImage,
  decodeTree,
  readDump,
  scanImage,
  type RestructureCodec,
  type TreeDocument,
} from 'ndis-offload';

export function decodeRegion(bytes: Uint8Array, base: bigint): TreeDocument {
  return decodeTree(SegmentImage.region(bytes, base), base);
}

export function rootsInDump(bytes: Uint8Array): bigint[] {
  const dump = readDump(new BufferSource(bytes, 'upload.dmp'));
  return scanImage(dump.image()).map((c) => c.address);
}

export type Codec = RestructureCodec<Record<string, unknown>>;
`;
