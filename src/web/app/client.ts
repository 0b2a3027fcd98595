/**
 * The page's side of the Worker: `call(op, arg)` returns a promise of the answer; progress
 * messages go to the caller's callback. The Worker's code is inside this script (built in by
 * scripts/build-web.mjs) and started from a Blob URL, which works from file:// pages too.
 */
import type { ErrorReply, Op, Ops, Reply } from '../protocol.js';

declare const __WORKER_SOURCE__: string;

/** An error the Worker answered with: the library's class name and its one-line message. */
export class WorkerError extends Error {
  constructor(reply: ErrorReply) {
    super(reply.message);
    this.name = reply.name;
  }
}

type Pending = { resolve(v: unknown): void; reject(e: unknown): void; progress?: (done: number, total: number, what: string) => void };

export class Client {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor() {
    const url = URL.createObjectURL(new Blob([__WORKER_SOURCE__], { type: 'text/javascript' }));
    this.worker = new Worker(url);
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const reply = e.data;
      const p = this.pending.get(reply.id);
      if (!p) return;
      if ('progress' in reply) p.progress?.(reply.progress.done, reply.progress.total, reply.progress.what);
      else {
        this.pending.delete(reply.id);
        if ('error' in reply) p.reject(new WorkerError(reply.error));
        else p.resolve(reply.result);
      }
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`the inspector's worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  call<K extends Op>(op: K, arg: Ops[K][0], progress?: (done: number, total: number, what: string) => void): Promise<Ops[K][1]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(progress ? { progress } : {}) });
      this.worker.postMessage({ id, op, arg });
    });
  }
}
