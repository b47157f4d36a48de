/**
 * States on the command line: `soup state capture` writes the app's state file (docs/states.md) of the text
 * a model read; `--state` files (generate, score) are read back, checked against the loaded model and, when
 * several, mixed the way the app mixes them (the playground's CPU mixer, in the order given):
 * no --weights and no --mode → mean; --weights as given (convex with --normalize); --mode mean|adecay; the
 * parts mixed and the conv policy are the app's defaults for the mode.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { captureState } from '../engine/states/capture.ts';
import { mixStoredCpu } from '../engine/states/mix.ts';
import type { MixSpec } from '../engine/states/mixSpec.ts';
import { exportStateFile, importStateFile } from '../engine/states/stateFile.ts';
import { shapeOfConfig, type StoredState } from '../engine/states/types.ts';
import type { GpuState } from '../engine/api.ts';
import { numberList, required, UsageError, type ParsedArgs } from './args.ts';
import type { OpenedModel } from './model-dir.ts';
import { modelIdOfDir } from './study-model.ts';

export const STATE_OPTIONS = ['state', 'weights', 'mode'] as const;

/** `--text T` or `--text-file F` (exactly one), refused when empty. */
export function textArg(args: ParsedArgs): { text: string; what: string } {
  const text = args.values.get('text');
  const file = args.values.get('text-file');
  if ((text === undefined) === (file === undefined))
    throw new UsageError('Give exactly one of --text or --text-file.');
  const got = text ?? readFileSync(file!, 'utf8');
  const what = text !== undefined ? '--text' : file!;
  if (got.trim() === '') throw new UsageError(`${what} is empty: give some text.`);
  return { text: got, what };
}

function encodeText(model: OpenedModel, text: string, what: string): number[] {
  if (!model.tokenizer) throw new UsageError(`${model.dir} has no tokenizer.json; text cannot be read.`);
  const ids = model.tokenizer.encode(text);
  if (ids.length === 0) throw new UsageError(`${what} has no tokens.`);
  return ids;
}

export async function runStateCapture(model: OpenedModel, args: ParsedArgs): Promise<void> {
  const out = required(args, 'out');
  const { text, what } = textArg(args);
  const tokenIds = encodeText(model, text, what);
  const name = args.values.get('name') ?? (text.trim().split('\n')[0]!.slice(0, 40) || 'state');
  const stored = await captureState(model.engine, {
    name,
    text,
    tokenIds,
    modelId: modelIdOfDir(model.dir),
    weightsHash: model.weightsHash,
  });
  writeFileSync(out, exportStateFile([stored]));
  if (args.flags.has('json')) {
    process.stdout.write(
      JSON.stringify({ out, tokens: tokenIds.length, weightsHash: model.weightsHash }) + '\n',
    );
  }
}

/** The mix the --weights / --normalize / --mode options ask for. */
export function mixSpecOf(args: ParsedArgs, count: number): MixSpec {
  const weights = numberList(args, 'weights');
  const mode = args.values.get('mode');
  const normalize = args.flags.has('normalize');
  if (weights && mode !== undefined) throw new UsageError('Give --weights or --mode, not both.');
  if (normalize && !weights) throw new UsageError('--normalize applies to --weights; give the weights too.');
  if (weights) {
    if (weights.length !== count) {
      throw new UsageError(`--weights has ${weights.length} values for ${count} states; give one per state.`);
    }
    return { mode: 'weighted', weights, normalize };
  }
  if (mode === undefined || mode === 'mean') return { mode: 'mean' };
  if (mode === 'adecay') return { mode: 'adecay' };
  throw new UsageError(`--mode must be mean or adecay (got "${mode}").`);
}

/** Every state of every --state file, in the order given, checked against the loaded model. */
export function readStates(model: OpenedModel, files: string[]): StoredState[] {
  const expect = {
    modelId: modelIdOfDir(model.dir),
    weightsHash: model.weightsHash,
    shape: shapeOfConfig(model.config),
  };
  return files.flatMap((f) => importStateFile(new Uint8Array(readFileSync(f)), f, expect));
}

/**
 * The state to start from: zero without --state, else the files' states mixed by the options. The caller
 * destroys it.
 */
export function startState(model: OpenedModel, args: ParsedArgs): GpuState {
  const files = args.lists.get('state') ?? [];
  const gpu = model.engine.createState();
  if (files.length === 0) {
    if (args.values.has('weights') || args.values.has('mode') || args.flags.has('normalize')) {
      gpu.destroy();
      throw new UsageError('--weights, --normalize and --mode mix --state files; give at least one.');
    }
    return gpu;
  }
  try {
    const states = readStates(model, files);
    const mixed = mixStoredCpu(states, mixSpecOf(args, states.length), model.aLogs);
    model.engine.writeState(gpu, mixed.state);
    return gpu;
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}

/** `soup score`: teacher-forced NLL of the text from the start state; its first token is read, not scored. */
export async function runScore(model: OpenedModel, args: ParsedArgs): Promise<void> {
  const { text, what } = textArg(args);
  const ids = encodeText(model, text, what);
  if (ids.length < 2) throw new UsageError(`${what} has one token; scoring needs at least two.`);
  const gpu = startState(model, args);
  try {
    const s = await model.engine.score(gpu, ids);
    let sum = 0;
    for (const x of s.nll) sum += x;
    const nll = sum / s.nll.length;
    const result = { tokens: s.nll.length, nll, ppl: Math.exp(nll) };
    process.stdout.write(
      args.flags.has('json')
        ? JSON.stringify(result) + '\n'
        : `${result.tokens} tokens scored: NLL ${nll.toFixed(4)} nats/token, perplexity ${result.ppl.toFixed(3)}\n`,
    );
  } finally {
    gpu.destroy();
  }
}
