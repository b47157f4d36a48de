/**
 * The page's side of the worker protocol: numbered requests, promises for their final responses, progress
 * and token callbacks. A request sent on a `lane` supersedes the one in flight on that lane: the older one is
 * cancelled in the worker and its promise rejects with an AbortError at once, so the page never waits
 * behind stale work (perplexity while a slider is dragged).
 */
import type {
  FinalResponse,
  GeneratedToken,
  ReplyingRequest,
  ReplyTypeOf,
  WorkerError,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

type Final<T extends FinalResponse['type']> = Extract<FinalResponse, { type: T }>;
/** The request types whose reply is `T` (`done` answers both rename and drop). */
type AskingFor<T extends FinalResponse['type']> = {
  [Q in ReplyingRequest['type']]: ReplyTypeOf[Q] extends T ? Q : never;
}[ReplyingRequest['type']];
/** The body (a request without its id) of each request type in `Q`. */
type BodyOf<Q extends ReplyingRequest['type']> = Q extends ReplyingRequest['type']
  ? Omit<Extract<ReplyingRequest, { type: Q }>, 'id'>
  : never;

/** What the client needs of a Worker: a Worker, or one end of a MessageChannel in tests. */
export interface EnginePort {
  postMessage(message: WorkerRequest, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerResponse>) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
  terminate(): void;
}

export interface RequestOptions {
  lane?: string;
  onProgress?: (phase: string, done: number, total: number) => void;
  onToken?: (index: number, token: GeneratedToken) => void;
}

interface Pending {
  resolve: (r: FinalResponse) => void;
  reject: (e: Error) => void;
  options: RequestOptions;
}

export class WorkerRequestError extends Error {
  constructor(e: WorkerError) {
    super(e.message);
    this.name = e.name;
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lanes = new Map<string, number>();
  onFatal: (e: WorkerError) => void = () => {};

  constructor(private readonly worker: EnginePort) {
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => this.receive(e.data);
    worker.onerror = (e) => {
      const error = {
        name: 'WorkerError',
        message: `The engine worker failed: ${e.message}. Reload the page.`,
      };
      for (const p of this.pending.values()) p.reject(new WorkerRequestError(error));
      this.pending.clear();
      this.onFatal(error);
    };
  }

  static start(): EngineClient {
    return new EngineClient(new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' }));
  }

  /** Sends `body`; `expect` names the reply it ends with, and must be the one `body`'s type gets. */
  request<T extends FinalResponse['type']>(
    _expect: T,
    body: BodyOf<AskingFor<T>>,
    options: RequestOptions = {},
    transfer: Transferable[] = [],
  ): Promise<Final<T>> {
    const id = this.nextId++;
    if (options.lane) {
      const prev = this.lanes.get(options.lane);
      if (prev !== undefined) this.cancel(prev);
      this.lanes.set(options.lane, id);
    }
    return new Promise<Final<T>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: FinalResponse) => void, reject, options });
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  /** Cancels a request: the worker stops it at its next step; its promise rejects with an AbortError now. */
  cancel(id: number) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.worker.postMessage({ type: 'cancel', id: this.nextId++, target: id } satisfies WorkerRequest, []);
    p.reject(new WorkerRequestError({ name: 'AbortError', message: 'Superseded by newer work.' }));
  }

  cancelLane(lane: string) {
    const id = this.lanes.get(lane);
    if (id !== undefined) this.cancel(id);
  }

  private receive(m: WorkerResponse) {
    if (m.type === 'fatal') {
      this.onFatal(m.error);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return; // cancelled: late messages of superseded work are dropped
    if (m.type === 'progress') {
      p.options.onProgress?.(m.phase, m.done, m.total);
      return;
    }
    if (m.type === 'token') {
      p.options.onToken?.(m.index, m.token);
      return;
    }
    this.pending.delete(m.id);
    if (p.options.lane && this.lanes.get(p.options.lane) === m.id) this.lanes.delete(p.options.lane);
    if (m.type === 'error') p.reject(new WorkerRequestError(m.error));
    else p.resolve(m);
  }

  terminate() {
    this.worker.terminate();
  }
}
