/**
 * Writes docs/ndis-offload.1, the man page, from the commands' --help texts (src/cli/man.ts).
 * `npm run man` after changing a help text; a test requires the committed page to be current.
 */
import { writeFileSync } from 'node:fs';
import { MAN_PAGE, buildManPage } from '../src/cli/man.js';

writeFileSync(MAN_PAGE, buildManPage());
console.log(`wrote ${MAN_PAGE}`);
