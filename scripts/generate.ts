/** Regenerates every file derived from the struct descriptors. `npm run generate`. */
import { writeFileSync } from 'node:fs';
import { ABIS } from '../src/layout/abi.js';
import { NDIS_REVISIONS } from '../src/layout/descriptor.js';
import { emitViews, viewModuleName } from '../src/codec/gen/emit-views.js';
import { layoutMarkdown } from '../src/layout/markdown.js';
import { formatMarkdown } from '../src/layout/format-markdown.js';

const written: string[] = [];
function write(path: string, text: string): void {
  writeFileSync(path, text);
  written.push(path);
}

for (const abi of ABIS) {
  for (const ndis of NDIS_REVISIONS) {
    write(`src/codec/generated/${viewModuleName(abi, ndis)}.ts`, emitViews(abi, ndis));
  }
}
write('docs/layout.md', layoutMarkdown());
write('docs/format.md', formatMarkdown());
console.log(`generated:\n  ${written.join('\n  ')}`);
