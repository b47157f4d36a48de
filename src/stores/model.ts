/**
 * What the page knows of the model: load status and progress, and its small description. No tensors.
 * Written through the module-level actions below (named for what happened), read through selectors.
 */
import { create } from 'zustand';
import type { BundledManifest, BundledModel } from '../model/sources.ts';
import type { PrecisionChoice } from '../model/loader.ts';
import type { ModelInfo } from '../worker/protocol.ts';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error' | 'lost' | 'no-webgpu';

export interface ModelView {
  status: ModelStatus;
  progress?: { phase: string; done: number; total: number };
  info?: ModelInfo;
  /** The bundled model's manifest entry, when the model came from there. */
  entry?: BundledModel;
  manifest?: BundledManifest;
  /** Said once the manifest was read, e.g. that `?model=` named no bundled model and the default came instead. */
  notice?: string;
  precision: PrecisionChoice;
  error?: string;
}

interface ModelStore extends ModelView {
  set(p: Partial<ModelView>): void;
}

export const useModelStore = create<ModelStore>()((): ModelStore => ({
  status: 'idle',
  precision: 'auto',
  set: (p) => useModelStore.setState(p),
}));

const update = useModelStore.setState;

/** A load began: whatever was loaded before is gone from the page's view. */
export function modelLoading(entry: BundledModel | undefined): void {
  update({
    status: 'loading',
    error: undefined,
    info: undefined,
    entry,
    progress: { phase: 'Starting', done: 0, total: 1 },
  });
}

export function modelProgressed(phase: string, done: number, total: number): void {
  update({ progress: { phase, done, total } });
}

export function modelReady(info: ModelInfo): void {
  update({ status: 'ready', info, progress: undefined });
}

export function modelFailed(message: string): void {
  update({ status: 'error', error: message, progress: undefined });
}

/** The GPU device was lost (or the worker died): a reload is needed. */
export function modelLost(message: string): void {
  update({ status: 'lost', error: message });
}

export function manifestRead(manifest: BundledManifest, notice?: string): void {
  update({ manifest, notice });
}

/** The precision the next load asks for. */
export function choosePrecision(precision: PrecisionChoice): void {
  update({ precision });
}

/** What the model panel shows: use with useShallow. */
export const selectModelView = (s: ModelView): ModelView => ({
  status: s.status,
  progress: s.progress,
  info: s.info,
  entry: s.entry,
  manifest: s.manifest,
  notice: s.notice,
  precision: s.precision,
  error: s.error,
});
