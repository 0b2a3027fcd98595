/**
 * The inspector's Worker: every capture is opened, decoded and read here, so that the page stays
 * responsive and a File is read with FileReaderSync slice by slice. Requests are dispatched by op
 * name to HANDLERS; errors go back as their class name and one-line message (the CLI's).
 */
import type { NdisRevision } from '../../layout/descriptor.js';
import type { ErrorReply, Op, Ops, Reply, Request } from '../protocol.js';
import { download } from './downloads.js';
import { completeOperation, completePreview, editMember, editSpec, redo, undo } from './edit.js';
import { readerOf, sourceName } from './readers.js';
import { Session, probe } from './session.js';
import { diffSessions } from './diff.js';

const sessions = new Map<number, Session>();
let nextSession = 1;

const post = (reply: Reply): void => (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(reply);

export type Handler<K extends Op> = (arg: Ops[K][0], progress: (done: number, total: number, what: string) => void) => Ops[K][1];

export function session(id: number): Session {
  const s = sessions.get(id);
  if (!s) throw new Error(`no open capture ${id}`);
  return s;
}

export const HANDLERS: { [K in Op]: Handler<K> } = {
  diff: ({ a, b }) => diffSessions(session(a), session(b)),
  probe: ({ source, sibling }) => probe(readerOf(source), sibling ? { name: sourceName(sibling), open: () => readerOf(sibling) } : undefined),
  open: ({ source, sibling, settings, ndis }, progress) => {
    const id = nextSession++;
    const s = new Session(id, readerOf(source), {
      ...(sibling ? { sibling: { name: sourceName(sibling), open: () => readerOf(sibling) } } : {}),
      ...(settings ? { settings } : {}),
      ...(ndis ? { ndis: ndis as NdisRevision } : {}),
      progress: (done, total) => progress(done, total, 'finding the DTB'),
    });
    sessions.set(id, s);
    return s.summary();
  },
  close: ({ session: id }) => {
    sessions.get(id)?.close();
    sessions.delete(id);
  },
  scan: ({ session: id }, progress) => session(id).scan((done, total) => progress(done, total, 'scanning for roots')),
  decode: ({ session: id, root, operation, ndis }) => session(id).decode(root, operation, ndis),
  details: ({ session: id, row }) => session(id).details(row),
  bytes: ({ session: id, offset, length }) => session(id).bytes(offset, length),
  owner: ({ session: id, offset }) => session(id).owner(offset),
  locate: ({ session: id, address }) => session(id).locate(address),
  editSpec: ({ session: id, row, member }) => editSpec(session(id), row, member),
  edit: ({ session: id, row, member, value }) => editMember(session(id), row, member, value),
  undo: ({ session: id }) => undo(session(id)),
  redo: ({ session: id }) => redo(session(id)),
  completePreview: (req) => completePreview(session(req.session), req),
  complete: (req) => completeOperation(session(req.session), req),
  download: ({ session: id, kind }) => download(session(id), kind),
  find: ({ session: id, pattern, from, backwards }) => session(id).find(pattern, from, backwards === true),
};

function errorReply(e: unknown): ErrorReply {
  if (e instanceof Error) return { name: e.name, message: e.message.split('\n')[0]! };
  return { name: 'Error', message: String(e) };
}

(globalThis as unknown as { onmessage: (e: { data: Request }) => void }).onmessage = (e) => {
  const { id, op, arg } = e.data;
  const progress = (done: number, total: number, what: string): void => post({ id, progress: { done, total, what } });
  try {
    const handler = HANDLERS[op] as Handler<Op> | undefined;
    if (!handler) throw new Error(`unknown request '${String(op)}'`);
    const result = handler(arg as never, progress);
    const transfer = result && typeof result === 'object' && 'bytes' in result && (result as { bytes: unknown }).bytes instanceof Uint8Array ? [(result as { bytes: Uint8Array }).bytes.buffer] : [];
    (globalThis as unknown as { postMessage(m: unknown, t: unknown[]): void }).postMessage({ id, result }, transfer);
  } catch (err) {
    post({ id, error: errorReply(err) });
  }
};
