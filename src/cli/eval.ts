/**
 * `soup eval`: the request/result protocol of tests/fixtures/README.md, for either family (state tensors in
 * the family's shapes: stateIO.layerStateShapes). Each sequence is read from the zero
 * state (logits, states, Σ Δ); `mix` combines final states with the given weights (no normalisation, SSM and
 * conv alike) and reads `query` from the result; `adecay` composes the sources as ordered chunks (conv state:
 * the last source's) and reads `query` from that. The result uses the fixtures' tensor names.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { GpuState } from '../engine/api.ts';
import { GpuStateMixer } from '../engine/states/gpuMix.ts';
import { planMix, type MixSpec } from '../engine/states/mixSpec.ts';
import { shapeOfConfig } from '../engine/states/types.ts';
import { layerStateShapes } from '../engine/stateIO.ts';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors.ts';
import type { OpenedModel } from './model-dir.ts';
import { RequestError } from './output.ts';

export interface EvalRequest {
  sequences: Record<string, number[]>;
  mix?: { sources: string[]; weights: number[]; query: number[] };
  adecay?: { sources: string[]; query: number[] };
}

function isIdList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0);
}

export function parseRequest(text: string, file: string, vocabSize: number): EvalRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RequestError(`${file} is not valid JSON.`);
  }
  const r = raw as Partial<EvalRequest>;
  if (typeof r !== 'object' || r === null || typeof r.sequences !== 'object' || r.sequences === null) {
    throw new RequestError(`${file} needs a "sequences" object of name → token ids.`);
  }
  const names = Object.keys(r.sequences);
  const checkIds = (ids: unknown, what: string) => {
    if (!isIdList(ids)) throw new RequestError(`${file}: ${what} must be a non-empty list of token ids.`);
    const bad = ids.find((id) => id >= vocabSize);
    if (bad !== undefined)
      throw new RequestError(`${file}: ${what} has id ${bad}, beyond the vocabulary (${vocabSize}).`);
  };
  for (const n of names) checkIds(r.sequences[n], `sequence "${n}"`);
  const checkSources = (sources: unknown, what: string) => {
    if (
      !Array.isArray(sources) ||
      sources.length === 0 ||
      !sources.every((s) => names.includes(s as string))
    ) {
      throw new RequestError(`${file}: ${what}.sources must name sequences of the request.`);
    }
  };
  if (r.mix) {
    checkSources(r.mix.sources, 'mix');
    checkIds(r.mix.query, 'mix.query');
    if (
      !Array.isArray(r.mix.weights) ||
      r.mix.weights.length !== r.mix.sources.length ||
      !r.mix.weights.every(Number.isFinite)
    ) {
      throw new RequestError(`${file}: mix.weights must give one number per source.`);
    }
  }
  if (r.adecay) {
    checkSources(r.adecay.sources, 'adecay');
    checkIds(r.adecay.query, 'adecay.query');
  }
  return r as EvalRequest;
}

export async function runEval(model: OpenedModel, requestFile: string, outFile: string): Promise<void> {
  const { engine, config } = model;
  const request = parseRequest(readFileSync(requestFile, 'utf8'), requestFile, config.vocabSize);
  const out: Record<string, TensorToWrite> = {};
  const V = config.vocabSize;
  const shapes = layerStateShapes(config);
  const names = Object.keys(request.sequences);
  const states = new Map<string, GpuState>();
  try {
    for (const name of names) {
      const tokens = request.sequences[name]!;
      const state = engine.createState();
      states.set(name, state);
      const logits = (await engine.prefill(state, tokens, { logits: 'all' }))!;
      const host = await engine.readState(state);
      out[`${name}.tokens`] = { dtype: 'I32', shape: [tokens.length], data: Int32Array.from(tokens) };
      out[`${name}.logits`] = { dtype: 'F32', shape: [tokens.length, V], data: logits };
      host.layers.forEach((l, i) => {
        out[`${name}.ssm_state.${i}`] = { dtype: 'F32', shape: shapes.ssm, data: l.ssm };
        out[`${name}.conv_state.${i}`] = { dtype: 'F32', shape: shapes.conv, data: l.conv };
        out[`${name}.dt_sum.${i}`] = { dtype: 'F32', shape: shapes.dtSum, data: l.dtSum };
      });
    }
    const mixer =
      request.mix || request.adecay
        ? new GpuStateMixer(engine.device, shapeOfConfig(config), model.aLogs)
        : undefined;
    const runMix = async (sources: string[], spec: MixSpec, query: number[]) => {
      const dst = engine.createState();
      try {
        await mixer!.mix(
          sources.map((s) => states.get(s)!),
          planMix(spec, sources.length, config.numLayers),
          dst,
        );
        const host = await engine.readState(dst);
        const logits = (await engine.prefill(dst, query, { logits: 'all' }))!;
        return { host, logits };
      } finally {
        dst.destroy();
      }
    };
    if (request.mix) {
      const { sources, weights, query } = request.mix;
      const { logits } = await runMix(sources, { mode: 'weighted', weights, ssm: 'mix', conv: 'mix' }, query);
      out['mix.sources'] = {
        dtype: 'I32',
        shape: [sources.length],
        data: Int32Array.from(sources, (s) => names.indexOf(s)),
      };
      out['mix.weights'] = { dtype: 'F32', shape: [weights.length], data: Float32Array.from(weights) };
      out['mix.query_tokens'] = { dtype: 'I32', shape: [query.length], data: Int32Array.from(query) };
      out['mix.query_logits'] = { dtype: 'F32', shape: [query.length, V], data: logits };
    }
    if (request.adecay) {
      const { sources, query } = request.adecay;
      const { host, logits } = await runMix(sources, { mode: 'adecay', ssm: 'mix', conv: 'last' }, query);
      host.layers.forEach((l, i) => {
        out[`adecay.ssm_state.${i}`] = { dtype: 'F32', shape: shapes.ssm, data: l.ssm };
      });
      out['adecay.query_tokens'] = { dtype: 'I32', shape: [query.length], data: Int32Array.from(query) };
      out['adecay.query_logits'] = { dtype: 'F32', shape: [query.length, V], data: logits };
    }
    mixer?.destroy();
  } finally {
    for (const s of states.values()) s.destroy();
  }
  writeFileSync(
    outFile,
    writeSafetensors(out, {
      note: JSON.stringify({ sequences: names, engine: 'state-soup webgpu', dtype: engine.dtype }),
    }),
  );
}
