/** The engine service's types: a request and its reply, one call in progress, the options, the loaded model. */
import type { EngineDevice } from '../engine/gpu/device.ts';
import type { GpuBackend } from './gpu-backend.ts';
import type { TextCodec } from './codec.ts';
import type { StateStore } from './persistence.ts';
import type {
  FinalResponse,
  GeneratedToken,
  ModelInfo,
  ReplyingRequest,
  ReplyTo,
  WorkerError,
  WorkerRequest,
} from './protocol.ts';

/** A request of type `T`, and the reply of type `R`. */
export type Req<T extends WorkerRequest['type']> = Extract<WorkerRequest, { type: T }>;
export type Reply<R extends FinalResponse['type']> = Extract<FinalResponse, { type: R }>;

/** One request in progress: its abort signal and where its progress and streamed tokens go. */
export interface Call {
  signal: AbortSignal;
  progress(phase: string, done: number, total: number): void;
  token(index: number, token: GeneratedToken): void;
}

export interface EngineServiceOptions {
  /** Opens the GPU device a load runs on (navigator.gpu in the Worker, Dawn in Node). */
  openDevice: () => Promise<EngineDevice>;
  /** The state library (the Worker's is IndexedDB's StateLibrary). Rejecting means states last for the visit. */
  openStore: () => Promise<StateStore>;
  /** The device was lost after loading: the model is gone until loaded again. */
  onFatal?: (e: WorkerError) => void;
  /** GPU memory for stored states kept on the device (least recently used leave first); default GPU_STATE_BYTES. */
  gpuStateBytes?: number;
}

/** One method per request type, answering with that type's reply: the service mirrors the protocol. */
export type ServiceMethods = {
  [Q in ReplyingRequest['type']]: (
    req: Extract<ReplyingRequest, { type: Q }>,
    call: Call,
  ) => ReplyTo<Q> | Promise<ReplyTo<Q>>;
};

export interface Loaded {
  backend: GpuBackend;
  codec: TextCodec;
  info: ModelInfo;
  /** The retired "s1-" fingerprint of these weights, to recognise states saved by an older version. */
  legacyHash: string;
}
