/**
 * Mixing stored states: checks that they may be combined (same model, same weights, same shape), then runs a
 * MixSpec on the CPU (mixStoredCpu, for small models and tests) or uploads them and runs it on the GPU
 * (mixStoredGpu, into a GpuState that the engine continues from).
 */
import type { MambaEngine, GpuState } from '../api.ts';
import { mixStatesCpu, decayRates } from './cpuMix.ts';
import type { GpuStateMixer } from './gpuMix.ts';
import { planMix, type MixPlan, type MixSpec } from './mixSpec.ts';
import {
  StateMismatchError,
  describeShape,
  newStateId,
  sameShape,
  shapeMismatch,
  type StateMeta,
  type StoredState,
} from './types.ts';

/** Throws a StateMismatchError naming the first state that cannot be mixed with the first one. */
export function checkMixable(metas: StateMeta[]): void {
  const first = metas[0];
  if (!first) throw new StateMismatchError('Choose at least one state to mix.');
  for (const m of metas.slice(1)) {
    if (m.modelId !== first.modelId || m.weightsHash !== first.weightsHash) {
      throw new StateMismatchError(
        `"${m.name}" was computed with ${m.modelId} (weights ${m.weightsHash}) and "${first.name}" with ${first.modelId} (weights ${first.weightsHash}); states of different models cannot be mixed. Pick states of one model.`,
      );
    }
    if (!sameShape(m.shape, first.shape)) {
      throw new StateMismatchError(
        `"${m.name}" has shape ${describeShape(m.shape)} but "${first.name}" has ${describeShape(first.shape)}; they cannot be mixed.`,
      );
    }
  }
}

/** Throws unless `meta` belongs to the model with this id and weights hash. */
export function checkBelongsTo(meta: StateMeta, modelId: string, weightsHash: string): void {
  if (meta.weightsHash !== weightsHash) {
    throw new StateMismatchError(
      `"${meta.name}" belongs to ${meta.modelId} (weights ${meta.weightsHash}), not to the loaded model ${modelId} (weights ${weightsHash}). Load that model to use it.`,
    );
  }
}

function mixedMeta(sources: StoredState[], spec: MixSpec, name?: string): StateMeta {
  const first = sources[0]!.meta;
  return {
    id: newStateId(),
    name: name ?? `${spec.mode} of ${sources.map((s) => s.meta.name).join(', ')}`,
    modelId: first.modelId,
    weightsHash: first.weightsHash,
    shape: { ...first.shape },
    text: '',
    tokenIds: [],
    tokenCount: 0,
    createdAt: Date.now(),
    origin: `mix ${JSON.stringify({ ...spec, sources: sources.map((s) => s.meta.id) })}`,
  };
}

/** The plan of mixing `sources` by `spec`, after checking that they may be mixed (model, weights, shapes). */
export function planStoredMix(sources: StoredState[], spec: MixSpec): MixPlan {
  checkMixable(sources.map((s) => s.meta));
  for (const s of sources) {
    const bad = shapeMismatch(s.state, s.meta.shape);
    if (bad) throw new StateMismatchError(`"${s.meta.name}" is damaged: ${bad}.`);
  }
  return planMix(spec, sources.length, sources[0]!.meta.shape.layers);
}

/** Mixes on the CPU. `aLogs` (each layer's A_log) is needed by A-decay only. */
export function mixStoredCpu(
  sources: StoredState[],
  spec: MixSpec,
  aLogs?: Float32Array[],
  name?: string,
): StoredState {
  const plan = planStoredMix(sources, spec);
  const state = mixStatesCpu(
    sources.map((s) => s.state),
    plan,
    aLogs ? decayRates(aLogs) : undefined,
  );
  return { meta: mixedMeta(sources, spec, name), state };
}

/**
 * Uploads `sources`, mixes them on the GPU into `dst` (a state of `engine`, e.g. engine.createState()) and
 * returns the metadata of the result. The uploaded copies are destroyed before returning.
 */
export async function mixStoredGpu(
  engine: MambaEngine,
  mixer: GpuStateMixer,
  sources: StoredState[],
  spec: MixSpec,
  dst: GpuState,
  name?: string,
): Promise<StateMeta> {
  const plan = planStoredMix(sources, spec);
  if (!sameShape(mixer.shape, sources[0]!.meta.shape)) {
    throw new StateMismatchError(
      `These states have shape ${describeShape(sources[0]!.meta.shape)}; the loaded model's is ${describeShape(mixer.shape)}.`,
    );
  }
  const uploaded = sources.map((s) => {
    const g = engine.createState();
    engine.writeState(g, s.state);
    return g;
  });
  try {
    await mixer.mix(uploaded, plan, dst);
  } finally {
    for (const g of uploaded) g.destroy();
  }
  return mixedMeta(sources, spec, name);
}
