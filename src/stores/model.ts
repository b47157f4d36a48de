/** What the page knows of the model: load status and progress, and its small description. No tensors. */
import { create } from 'zustand';
import type { ModelInfo, Precision } from '../worker/protocol.ts';

export interface ManifestEntry {
  id: string;
  folder: string;
  description: string;
  parameters?: string | number;
  license?: string;
  /** The task suite file in the model's folder (presets). */
  tasks?: string;
  /** The files in the model's folder. */
  files?: string[];
}

export interface Manifest {
  default: string;
  models: ManifestEntry[];
}

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error' | 'lost' | 'no-webgpu';

interface ModelStore {
  status: ModelStatus;
  progress?: { phase: string; done: number; total: number };
  info?: ModelInfo;
  /** The bundled model's manifest entry, when the model came from there. */
  entry?: ManifestEntry;
  manifest?: Manifest;
  precision: Precision | 'auto';
  error?: string;
  set(p: Partial<Omit<ModelStore, 'set'>>): void;
}

export const useModelStore = create<ModelStore>()((set) => ({
  status: 'idle',
  precision: 'auto',
  set: (p) => set(p),
}));
