/**
 * Writes fixtures/initiate-x86-pae.dmp, the bundled 32-bit crash dump (a PAE bitmap dump holding
 * the initiate-x86 tree), from test/support/x86-dumps.ts: `npx tsx scripts/x86-fixture.ts`.
 * test/capture/x86-fixture.test.ts requires the committed file to be exactly what this writes.
 */
import { writeFileSync } from 'node:fs';
import { SAMPLE_DUMP32, buildSampleDump32 } from '../test/support/x86-dumps.js';

writeFileSync(SAMPLE_DUMP32.file, buildSampleDump32());
console.log(`wrote ${SAMPLE_DUMP32.file}`);
