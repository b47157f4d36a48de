/**
 * The part of an engine backend (backend.ts EngineBackend) that only hands on to the family's placed weights:
 * where a tensor goes, the matrices' keys and generation, and the layers' working state. Each family's
 * backend extends it with its activations and dispatch plans. (A module of its own: backend.ts imports the
 * Mamba-2 backend, which could not extend a class defined there.)
 */
import type { SharedActivations } from './activations.ts';
import type { EngineBackend } from './backend.ts';
import type { DispatchPlan } from './plan/assemble.ts';
import type { BatchPlan } from './plan/batch.ts';

/** What the backend asks of a family's placement (placement.ts GpuWeights, mamba2/placement.ts). */
interface PlacedWeights {
  readonly work: readonly GPUBuffer[];
  place: EngineBackend['place'];
  generate: EngineBackend['generate'];
}

export abstract class WeightsBackend<W extends PlacedWeights> implements EngineBackend {
  abstract readonly act: SharedActivations;

  constructor(
    protected readonly weights: W,
    /** The placement's static matrixKey: a key for each big matrix, undefined for every other tensor. */
    private readonly keyOf: (name: string) => string | undefined,
  ) {}

  get work(): readonly GPUBuffer[] {
    return this.weights.work;
  }

  matrixKey(name: string): string | undefined {
    return this.keyOf(name);
  }

  place(name: string, data: Float32Array, shape: number[]): void {
    this.weights.place(name, data, shape);
  }

  generate(name: string, rows: number, cols: number, fill: Parameters<EngineBackend['generate']>[3]): void {
    this.weights.generate(name, rows, cols, fill);
  }

  abstract buildPlan(): DispatchPlan;

  abstract buildBatchPlan(slots: number): BatchPlan;
}
