/**
 * What the training scripts that run the bundled default model through the app's WebGPU engine share
 * (eval_engine.ts, cross_task.ts): the model opened as the command line opens a folder (f32 weights, on the
 * adapter Node finds), the evaluation prompts of the training run, and greedy answers to `input->` queries.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openModelDir } from '../src/cli/model-dir.ts';
import type { GpuState } from '../src/engine/api.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { bundledModelDir } from '../src/model/node.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export type Pair = [string, string];
export interface EvalPrompt {
  task: string;
  query: Pair;
  examples: Pair[];
}

/** The fixed evaluation prompts of the run that made the shipped model (training/results/eval_prompts.json). */
export function evalPrompts(): EvalPrompt[] {
  const path = join(ROOT, 'training/results/eval_prompts.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { prompts: EvalPrompt[] }).prompts;
}

/** Examples as task lines: `input->output\n` each. */
export const lines = (ex: Pair[]) => ex.map(([i, o]) => `${i}->${o}\n`).join('');

export async function openBundled() {
  const opened = await openModelDir(bundledModelDir(join(ROOT, 'public/models')), 'f32');
  const { engine: model, tokenizer: tok } = opened;
  if (!tok) throw new Error(`${opened.dir} has no tokenizer.json.`);
  const newline = tok.encode('\n');
  return {
    model,
    tok,
    /** The state after reading `text` from the zero state. */
    async stateAfter(text: string): Promise<MambaState> {
      const s = model.createState();
      await model.prefill(s, tok.encode(text), { logits: 'none' });
      const out = await model.readState(s);
      s.destroy();
      return out;
    },
    /** The first line of the greedy continuation of `text` from `state` (at most 12 new tokens). */
    async answer(state: GpuState, text: string): Promise<string> {
      const ids = await model.generate(state, tok.encode(text), { maxNewTokens: 12, stopTokens: newline });
      return tok.decode(ids).split('\n')[0]!;
    },
  };
}
