/**
 * The protocol around the engine service: numbered requests run concurrently, each with its own
 * AbortController; a `cancel` aborts one (at its next step, or before it starts if it is still waiting), which
 * is how newer perplexity work supersedes older work instead of queueing behind it. Failures become `error`
 * replies carrying the error's class name (AbortError, GpuOutOfMemoryError, …). Transport-free: the worker
 * passes postMessage in, tests pass a recorder.
 */
import type { EngineService } from './service.ts';
import type { WorkerError, WorkerRequest, WorkerResponse } from './protocol.ts';

export type Post = (m: WorkerResponse, transfer?: Transferable[]) => void;

export function errorData(err: unknown): WorkerError {
  return err instanceof Error || err instanceof DOMException
    ? { name: err.name, message: err.message }
    : { name: 'Error', message: String(err) };
}

export class RequestDispatcher {
  private readonly running = new Map<number, AbortController>();

  constructor(
    private readonly service: EngineService,
    private readonly post: Post,
  ) {}

  /** Starts `req` (or cancels the one it names); its replies go to `post`. */
  receive(req: WorkerRequest): void {
    if (req.type === 'cancel') {
      this.running.get(req.target)?.abort();
      return;
    }
    const { id } = req;
    const ctl = new AbortController();
    this.running.set(id, ctl);
    this.service
      .handle(req, {
        signal: ctl.signal,
        progress: (phase, done, total) => this.post({ type: 'progress', id, phase, done, total }),
        token: (index, token) => this.post({ type: 'token', id, index, token }),
      })
      .then((reply) => this.post(reply, reply.type === 'exported' ? [reply.bytes.buffer as ArrayBuffer] : []))
      .catch((err: unknown) => this.post({ type: 'error', id, error: errorData(err) }))
      .finally(() => this.running.delete(id));
  }
}
