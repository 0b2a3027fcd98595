import type { Io } from './io.js';

/** Sources at most this large draw no progress bar. */
export const PROGRESS_MIN = 256 * 2 ** 20;

/**
 * A one-line bar on stderr ("scanning [####....] 40% 410/1024 MiB"), redrawn in place with \r
 * and erased when done; drawn only when stderr is a terminal and the total is over 256 MiB.
 */
export function progressBar(io: Io, label = 'scanning'): { update(done: number, total: number): void; end(): void } {
  let drawn = false;
  return {
    update(done, total) {
      if (!io.errIsTty || total <= PROGRESS_MIN) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
      io.err(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((done / total) * 100)}% ${mib(done)}/${mib(total)} MiB`);
      drawn = true;
    },
    end() {
      if (drawn) io.err('\r\u001b[K');
      drawn = false;
    },
  };
}
