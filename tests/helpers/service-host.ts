/**
 * The engine worker's service as the Worker runs it, for the worker-service tests: EngineService on Dawn's
 * adapter behind its RequestDispatcher, with an in-memory state library standing in for IndexedDB.
 */
import { openNodeDevice } from '../../src/engine/gpu/node.ts';
import type { StoredState } from '../../src/engine/states/types.ts';
import { RequestDispatcher } from '../../src/worker/dispatch.ts';
import type { StateStore } from '../../src/worker/persistence.ts';
import type { FinalResponse, WorkerRequest, WorkerResponse } from '../../src/worker/protocol.ts';
import { EngineService } from '../../src/worker/service.ts';

/** A library in memory, with the StateLibrary's contract: load of an unknown id rejects. */
export class MemoryStore implements StateStore {
  readonly saved = new Map<string, StoredState>();
  async save(s: StoredState) {
    this.saved.set(s.meta.id, { meta: { ...s.meta }, state: s.state });
  }
  async load(id: string) {
    const s = this.saved.get(id);
    if (!s) throw new Error(`no state ${id}`);
    return { meta: { ...s.meta }, state: s.state };
  }
  async updateMeta(id: string, patch: { name?: string }) {
    const s = this.saved.get(id);
    if (s) s.meta = { ...s.meta, ...patch };
  }
  async delete(ids: string[]) {
    for (const id of ids) this.saved.delete(id);
  }
}

export type Body = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The service behind its dispatcher, as the Worker runs it; `send` gives every message of one request. */
export function serviceHost(store: () => Promise<StateStore>) {
  const service = new EngineService({ openDevice: openNodeDevice, openStore: store });
  interface Waiting {
    messages: WorkerResponse[];
    done: (m: WorkerResponse[]) => void;
    seen?: (m: WorkerResponse) => void;
  }
  const waiting = new Map<number, Waiting>();
  const fatal: WorkerResponse[] = [];
  const dispatcher = new RequestDispatcher(service, (m) => {
    if (m.type === 'fatal') return void fatal.push(m);
    const w = waiting.get(m.id)!;
    w.messages.push(m);
    w.seen?.(m);
    if (m.type !== 'progress' && m.type !== 'token') w.done(w.messages);
  });
  let nextId = 1;
  function send(body: Body, seen?: (m: WorkerResponse) => void) {
    const id = nextId++;
    const replies = new Promise<WorkerResponse[]>((done) => waiting.set(id, { messages: [], done, seen }));
    dispatcher.receive({ ...body, id } as WorkerRequest);
    return { id, replies };
  }
  async function final<T extends FinalResponse['type']>(type: T, body: Body) {
    const last = (await send(body).replies).at(-1)!;
    if (last.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(last).slice(0, 300)}`);
    return last as Extract<FinalResponse, { type: T }>;
  }
  async function failure(body: Body) {
    const last = (await send(body).replies).at(-1)!;
    if (last.type !== 'error') throw new Error(`expected an error, got ${last.type}`);
    return last.error;
  }
  const cancel = (target: number) => dispatcher.receive({ type: 'cancel', id: nextId++, target });
  return { service, send, final, failure, cancel, fatal };
}
