/**
 * The typed message protocol between the page and the engine Worker. Requests and responses are
 * discriminated unions on `type`; every request carries an `id` the responses echo. Only small things cross
 * the boundary (ids, texts, token ids, per-token numbers); states stay in the worker, keyed by the library
 * entry's id, and tensors cross only for import/export.
 */
import type { ModelFamily } from '../model/family.ts';
import type { WeightDtype } from '../engine/api.ts';
import type { MixMode, RecipeProfile } from '../engine/states/mixSpec.ts';
import type { PrecisionChoice } from '../model/loader.ts';

/** Where a model comes from: a folder shipped with the app, a hub repo, or files the user picked. */
export type ModelSource =
  /** `files`: the folder's files as the manifest lists them (others are known to be absent). */
  | { kind: 'bundled'; modelsUrl: string; folder: string; id: string; files?: string[] }
  | { kind: 'hub'; repo: string; hubUrl?: string }
  | { kind: 'files'; files: File[] };

import type { StudyOutcome, StudySpec } from '../studies/request.ts';

/** How the current mix is made: which stored states, their weights, and the operator. */
export interface MixRecipe {
  sources: { key: string; weight: number }[];
  mode: MixMode;
  /** Divide weights by their sum (convex mix) before mixing. */
  normalize: boolean;
  parts: { ssm: boolean; conv: boolean };
  profile: RecipeProfile;
}

/** A state the worker can start from: the zero state, a stored one, the mix, or a text read from zero. */
export type StartState =
  | { kind: 'zero' }
  | { kind: 'stored'; key: string }
  | { kind: 'mix'; recipe: MixRecipe }
  | { kind: 'text'; text: string };

export interface SamplingSettings {
  /** 0 = greedy. */
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  maxNewTokens: number;
}

export interface ModelInfo {
  id: string;
  description: string;
  /** Mamba-1 or Mamba-2: which state layout its states have, and which state files it imports. */
  family: ModelFamily;
  layers: number;
  dModel: number;
  dState: number;
  vocab: number;
  precision: WeightDtype;
  engine: 'webgpu' | 'cpu-reference';
  adapter: string;
  /** 'bpe' when tokenizer.json was loaded; 'bytes' for test models without one (ids are UTF-8 bytes). */
  tokenizer: 'bpe' | 'bytes';
  stateBytes: number;
  /** The loader's estimate of GPU memory in use (weights, activations, states). */
  memoryBytes: number;
  weightsHash: string;
  /** Non-fatal problems while loading (the download cache is full): the model still works. */
  warnings: string[];
}

/** A stored state as the page lists it. */
export interface StateSummary {
  key: string;
  name: string;
  text: string;
  tokenCount: number;
  task?: string;
}

export interface TokenView {
  /** The token's text (decoded alone). */
  text: string;
  id: number;
}

export interface GeneratedToken extends TokenView {
  /** Probability the model gave the chosen token. */
  prob: number;
  /** The most likely alternatives at this step, best first. */
  top: { text: string; prob: number }[];
}

export interface LayerNorms {
  key: string;
  ssm: number[];
  conv: number[];
}

export type WorkerRequest =
  | { type: 'load'; id: number; source: ModelSource; precision: PrecisionChoice }
  /** Makes the state of `text` (or takes it from storage when it was saved with this model). */
  | { type: 'capture'; id: number; key: string; name: string; text: string; task?: string }
  | { type: 'importFile'; id: number; bytes: ArrayBuffer; fileName: string }
  | { type: 'export'; id: number; keys: string[] }
  | { type: 'rename'; id: number; key: string; name: string }
  | { type: 'drop'; id: number; key: string }
  | { type: 'score'; id: number; start: StartState; text: string }
  | {
      type: 'generate';
      id: number;
      start: StartState;
      query: string;
      sampling: SamplingSettings;
      /**
       * A stop sequence: generation ends with the token that completes it (that token is kept, so the text
       * shows where it stopped). '\n' stops at the end of the line, as a task query's answer does.
       */
      stop?: string;
    }
  | { type: 'sweep'; id: number; recipe: MixRecipe; key: string; alphas: number[]; text: string }
  /**
   * The lesson's curve: for each α, the mix (1 − α)·a + α·b (weighted, whole state); from it the
   * teacher-forced probability of each answer to `query` (the product over the answer's tokens) and, when
   * `text` is given, the text's perplexity.
   */
  | {
      type: 'answerSweep';
      id: number;
      a: string;
      b: string;
      alphas: number[];
      query: string;
      answers: string[];
      text?: string;
    }
  | { type: 'inspect'; id: number; keys: string[] }
  /** Ranks the stored states `keys` by similarity to the state of `query` read from zero (best first). */
  | {
      type: 'retrieve';
      id: number;
      query: string;
      keys: string[];
      metric: 'cosine' | 'l2';
      /** 0-based layer, or every layer. */
      layer: number | 'all';
    }
  | { type: 'tokenize'; id: number; text: string }
  /** Runs a study (src/studies) on the loaded model; progress phases are what it is doing. */
  | { type: 'study'; id: number; spec: StudySpec }
  /** Stops the running study between units: it replies `studied` with the rows that finished. */
  | { type: 'stopStudy'; id: number }
  | { type: 'cancel'; id: number; target: number };

export type WorkerResponse =
  | { type: 'progress'; id: number; phase: string; done: number; total: number }
  | { type: 'loaded'; id: number; info: ModelInfo }
  | { type: 'captured'; id: number; key: string; tokenCount: number; fromStorage: boolean; warning?: string }
  | { type: 'imported'; id: number; states: StateSummary[]; warning?: string }
  | { type: 'exported'; id: number; bytes: Uint8Array; fileName: string }
  | { type: 'scored'; id: number; tokens: TokenView[]; nll: number[]; perplexity: number; ms: number }
  | { type: 'token'; id: number; index: number; token: GeneratedToken }
  | { type: 'generated'; id: number; tokens: GeneratedToken[]; ms: number }
  | { type: 'swept'; id: number; points: { alpha: number; perplexity: number }[] }
  /** `probs[i]`: the probability of `answers[i]`; `perplexity` NaN without a text. */
  | { type: 'answersSwept'; id: number; points: { alpha: number; probs: number[]; perplexity: number }[] }
  /** `grams[l][i][j]`: the dot product of states i and j's layer-l SSM states (the cosines and the PCA map). */
  | { type: 'inspected'; id: number; norms: LayerNorms[]; grams: number[][][] }
  /** `score`: the cosine, or −(L2 distance); higher is more similar. */
  | { type: 'retrieved'; id: number; hits: { key: string; score: number }[]; queryTokens: number }
  | { type: 'tokenized'; id: number; tokens: TokenView[] }
  | { type: 'studied'; id: number; result: StudyOutcome }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; error: WorkerError }
  /** Not tied to a request: the GPU device was lost; the model must be reloaded (states are kept). */
  | { type: 'fatal'; id: 0; error: WorkerError };

/** Errors cross the boundary as plain data; `name` keeps the class (GpuOutOfMemoryError, AbortError, …). */
export interface WorkerError {
  name: string;
  message: string;
}

/** The responses a request of each type finishes with. */
export type FinalResponse = Exclude<
  WorkerResponse,
  { type: 'progress' } | { type: 'token' } | { type: 'fatal' }
>;

/** The request types that get a reply (`cancel` gets none). */
export type ReplyingRequest = Exclude<WorkerRequest, { type: 'cancel' }>;

/**
 * The final reply each request type gets when it succeeds (any request may instead end in `error`). The
 * client types `request(expect, body)` by it, so asking for the wrong reply does not compile, and the
 * service's `handle` returns it.
 */
export type ReplyTypeOf = CompleteReplyMap<{
  load: 'loaded';
  capture: 'captured';
  importFile: 'imported';
  export: 'exported';
  rename: 'done';
  drop: 'done';
  score: 'scored';
  generate: 'generated';
  sweep: 'swept';
  answerSweep: 'answersSwept';
  inspect: 'inspected';
  retrieve: 'retrieved';
  tokenize: 'tokenized';
  study: 'studied';
  stopStudy: 'done';
}>;
/** Fails to compile unless every replying request type is mapped to a final response type. */
type CompleteReplyMap<M extends Record<ReplyingRequest['type'], FinalResponse['type']>> = M;

/** The final reply to a request of type `Q`. */
export type ReplyTo<Q extends ReplyingRequest['type']> = Extract<FinalResponse, { type: ReplyTypeOf[Q] }>;
