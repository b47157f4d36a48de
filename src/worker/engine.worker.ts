/**
 * The engine Worker: owns the WebGPU engine, the tokenizer and every state tensor, so the page never blocks on
 * model work; the page holds ids and metadata. This file only connects the Worker's messages to the engine
 * service (service.ts, what each request does) through the dispatcher (dispatch.ts: concurrency, cancel,
 * error replies).
 */
import { openDevice } from '../engine/gpu/device.ts';
import { StateLibrary } from '../storage/index.ts';
import { RequestDispatcher } from './dispatch.ts';
import type { WorkerRequest, WorkerResponse } from './protocol.ts';
import { EngineService } from './service.ts';

const scope = self as unknown as {
  postMessage(m: WorkerResponse, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};

const post = (m: WorkerResponse, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

const service = new EngineService({
  openDevice: () => openDevice(navigator.gpu),
  openStore: () => StateLibrary.open(),
  onFatal: (error) => post({ type: 'fatal', id: 0, error }),
});
const dispatcher = new RequestDispatcher(service, post);

scope.onmessage = (e) => dispatcher.receive(e.data);
