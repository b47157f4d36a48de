/**
 * The bundled model's held-out texts that ship with it, and their perplexity through the engine. The held-out
 * Brown and KJV documents of the training run (training/evaluate.py) are not in the repository (fetch_sources.sh
 * downloads them), so what is measured here is the held-out pairs of every task in tasks.json (words never
 * trained as that task's input), one `input->output` line each, one text per task, read from the zero state.
 * Used by training/int8_perplexity.ts and tests/engine.int8.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MambaEngine } from '../src/engine/api.ts';
import type { MambaTokenizer } from '../src/model/tokenizer.ts';

export interface HeldoutText {
  task: string;
  ids: number[];
}

/** Each task's first `perTask` held-out pairs (all when undefined) as lines, tokenised. */
export function heldoutTexts(modelDir: string, tok: MambaTokenizer, perTask?: number): HeldoutText[] {
  const tasks = (
    JSON.parse(readFileSync(join(modelDir, 'tasks.json'), 'utf8')) as {
      tasks: { name: string; heldout: [string, string][] }[];
    }
  ).tasks;
  return tasks.map((t) => ({
    task: t.name,
    ids: tok.encode(
      t.heldout
        .slice(0, perTask)
        .map(([i, o]) => `${i}->${o}\n`)
        .join(''),
    ),
  }));
}

export interface HeldoutPerplexity {
  /** exp of the mean NLL over every predicted token of every text. */
  perplexity: number;
  tokens: number;
  byTask: Record<string, number>;
}

/** Perplexity of `engine` on the texts, each scored from the zero state. */
export async function heldoutPerplexity(
  engine: MambaEngine,
  texts: HeldoutText[],
): Promise<HeldoutPerplexity> {
  let nll = 0;
  let tokens = 0;
  const byTask: Record<string, number> = {};
  for (const t of texts) {
    const state = engine.createState();
    const r = await engine.score(state, t.ids);
    state.destroy();
    nll += r.meanNll * (t.ids.length - 1);
    tokens += t.ids.length - 1;
    byTask[t.task] = r.perplexity;
  }
  return { perplexity: Math.exp(nll / tokens), tokens, byTask };
}
