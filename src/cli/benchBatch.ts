/**
 * `soup bench --batch-queries`: queries per second of k-shot ICL queries continued from one state, one by one
 * against batched (src/bench/batchQueries.ts). The queries come from the bundled task suite (or --tasks FILE),
 * tokenized by the model's tokenizer, or for random models by --tokenizer FILE (default: the GPT-NeoX
 * tokenizer.json in tests/fixtures/gpt-neox-tokenizer, the one the real Mamba checkpoints use).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineDevice } from '../engine/gpu/device.ts';
import type { GpuMambaModel } from '../engine/model.ts';
import { bundledModelDir } from '../model/node.ts';
import { MambaTokenizer } from '../model/tokenizer.ts';
import { formatBatchQueries, iclQueries, runBatchQueries } from '../bench/batchQueries.ts';
import { parseTaskSuite } from '../studies/tasks.ts';
import { intOption, UsageError, type ParsedArgs } from './args.ts';

export const BATCH_BENCH_USAGE = `            [--batch-queries [--queries 64] [--batch 32] [--shots 8] [--new-tokens 8] [--repeats 3]
             [--tokenizer tokenizer.json] [--tasks tasks.json]]   (ICL queries/s, one by one vs batched;
             --batch defaults to the engine's slots where it has fewer than 32;
             [--batch-memory MiB] the slots' budget, default 256)`;
export const BATCH_BENCH_VALUES = [
  'batch-memory',
  'queries',
  'batch',
  'shots',
  'new-tokens',
  'repeats',
  'tokenizer',
  'tasks',
];

const GPT_NEOX = 'tests/fixtures/gpt-neox-tokenizer/tokenizer.json';

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} ${path} could not be read: ${(e as Error).message}`);
  }
}

export async function runBatchBench(
  args: ParsedArgs,
  engine: GpuMambaModel,
  modelTokenizer: MambaTokenizer | undefined,
  dev: EngineDevice,
  model: string,
): Promise<void> {
  const count = (name: string, fallback: number, min = 1) => {
    const v = intOption(args, name, fallback)!;
    if (v < min) throw new UsageError(`--${name} must be at least ${min}.`);
    return v;
  };
  const cap = engine.batchCapacity;
  if (cap === 0) {
    throw new UsageError(
      `${model} has no batch capacity (not even two of its states fit the batch slots' budget, batchSlots in decisions.ts): continueMany runs its queries one by one. A larger --batch-memory (MiB; default 256) gives it slots.`,
    );
  }
  const queries = count('queries', 64);
  // 32 where the slots allow it (Mamba-2 at 130m size has 13).
  const batch = count('batch', Math.min(32, cap));
  const shots = count('shots', 8, 0);
  const newTokens = count('new-tokens', 8);
  const repeats = count('repeats', 3);
  const tokFile = args.values.get('tokenizer');
  const tokenizer =
    tokFile || !modelTokenizer
      ? MambaTokenizer.fromJSON(readFileSync(tokFile ?? join(process.cwd(), GPT_NEOX), 'utf8'), tokFile)
      : modelTokenizer;
  if (tokenizer.vocabSize > engine.config.vocabSize) {
    throw new UsageError(
      `The tokenizer knows ${tokenizer.vocabSize} ids but ${model} has ${engine.config.vocabSize}; give --tokenizer of this model.`,
    );
  }
  const tasksFile =
    args.values.get('tasks') ?? join(bundledModelDir(join(process.cwd(), 'public/models')), 'tasks.json');
  const suite = parseTaskSuite(readJson(tasksFile, 'The task suite'), tasksFile);
  const qs = iclQueries(suite, (t) => tokenizer.encode(t), { queries, shots, seed: 1 });
  if (batch > cap)
    throw new UsageError(
      `--batch ${batch} is above this engine's ${cap} slots (a larger --batch-memory may give more).`,
    );
  const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
  const r = await runBatchQueries(
    engine,
    qs.map((q) => q.ids),
    { newTokens, batch, repeats, onProgress: say },
  );
  const info = dev.adapterInfo;
  const adapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const head = `${model} (${engine.dtype}, ${engine.variant} kernels) on ${adapter}: ${shots}-shot ICL queries, tokenizer with ${tokenizer.vocabSize} ids`;
  const line = {
    bench: 'batch-queries',
    model,
    dtype: engine.dtype,
    variant: engine.variant,
    adapter,
    shots,
    ...r,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  if (!args.flags.has('json')) process.stdout.write(formatBatchQueries(r, head) + '\n');
}
