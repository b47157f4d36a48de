/**
 * `soup generate`: continue a prompt (ids or text) from the zero state, or from `--state` files mixed as the
 * app mixes them (state.ts), greedy or seeded sampling.
 */
import type { GenerateOptions } from '../engine/api.ts';
import { intOption, numberOption, tokenList, UsageError, type ParsedArgs } from './args.ts';
import type { OpenedModel } from './model-dir.ts';
import { startState } from './state.ts';

export function samplingFromArgs(args: ParsedArgs): Omit<GenerateOptions, 'maxNewTokens'> {
  const greedy = args.flags.has('greedy');
  const temperature = numberOption(args, 'temperature');
  const topK = intOption(args, 'top-k');
  const topP = numberOption(args, 'top-p');
  const seed = intOption(args, 'seed');
  if (greedy && (temperature !== undefined || topK !== undefined || topP !== undefined)) {
    throw new UsageError('--greedy cannot be combined with --temperature, --top-k or --top-p.');
  }
  if (temperature !== undefined && temperature < 0) throw new UsageError('--temperature must be ≥ 0.');
  if (topK !== undefined && topK < 1) throw new UsageError('--top-k must be at least 1.');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UsageError('--top-p must be in (0, 1].');
  if (greedy) return {};
  // Any sampling option without a temperature samples at temperature 1, as transformers does.
  const sampling =
    temperature !== undefined || topK !== undefined || topP !== undefined || seed !== undefined;
  return sampling ? { temperature: temperature ?? 1, topK, topP, seed: seed ?? 0 } : {};
}

export async function runGenerate(model: OpenedModel, args: ParsedArgs): Promise<void> {
  const tokensArg = args.values.get('tokens');
  const promptArg = args.values.get('prompt');
  if ((tokensArg === undefined) === (promptArg === undefined)) {
    throw new UsageError('Give exactly one of --tokens 1,2,3 or --prompt TEXT.');
  }
  let prompt: number[];
  if (tokensArg !== undefined) {
    prompt = tokenList(tokensArg, '--tokens');
  } else {
    if (!model.tokenizer)
      throw new UsageError(`${model.dir} has no tokenizer.json; use --tokens instead of --prompt.`);
    prompt = model.tokenizer.encode(promptArg!);
    if (prompt.length === 0) throw new UsageError('--prompt is empty.');
  }
  const bad = prompt.find((id) => id >= model.config.vocabSize);
  if (bad !== undefined)
    throw new UsageError(`Token id ${bad} is beyond the vocabulary (${model.config.vocabSize}).`);
  const maxNewTokens = intOption(args, 'max-new-tokens', 32)!;
  if (maxNewTokens < 1) throw new UsageError('--max-new-tokens must be at least 1.');
  const json = args.flags.has('json');
  const state = startState(model, args);
  let tokens: number[];
  try {
    tokens = await model.engine.generate(state, prompt, {
      maxNewTokens,
      ...samplingFromArgs(args),
      onToken:
        json || !model.tokenizer ? undefined : (id) => process.stdout.write(model.tokenizer!.decode([id])),
    });
  } finally {
    state.destroy();
  }
  if (json) {
    const result: { tokens: number[]; text?: string } = { tokens };
    if (model.tokenizer) result.text = model.tokenizer.decode(tokens);
    process.stdout.write(JSON.stringify(result) + '\n');
  } else if (model.tokenizer) {
    process.stdout.write('\n');
  } else {
    process.stdout.write(tokens.join(',') + '\n');
  }
}
