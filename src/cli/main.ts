/**
 * The command line: `npm run -s soup -- <command> ...`. The same engine as the app, on the WebGPU adapter that
 * Node finds (a real GPU, else SwiftShader). Errors a user can fix print one line and exit 1 (2 for usage).
 */
import { parseArgs, required, UsageError, type ParsedArgs } from './args.ts';
import { BENCH_OPTIONS, BENCH_USAGE, runBench } from './bench.ts';
import { runEval } from './eval.ts';
import { runGenerate } from './generate.ts';
import { loadTokenizerFromDir } from '../model/node.ts';
import { batchMemoryOption, openModelDir, parseDtype, type OpenedModel } from './model-dir.ts';
import { describeFsError, isUserError } from './output.ts';
import { runScore, runStateCapture } from './state.ts';
import { parseStudyArgs, runStudy, STUDY_USAGE } from './study.ts';
import { studyModelOf } from './study-model.ts';

const USAGE = `usage: soup <command> [options]
  eval      --model DIR --request REQ.json --out OUT.safetensors [--dtype f32|f16|int8]
  generate  --model DIR (--tokens 1,2,3 | --prompt TEXT) --max-new-tokens N
            [--state S.safetensors ... [--weights 0.3,0.7 [--normalize] | --mode mean|adecay]]
            [--greedy | --temperature T --top-k K --top-p P --seed S] [--dtype f32|f16|int8] [--json]
  score     --model DIR (--text T | --text-file F) [--state S.safetensors ... [--weights … | --mode …]] [--json]
  state capture --model DIR (--text T | --text-file F) --out S.safetensors [--name N] [--json]
  tokenize  --model DIR --text TEXT [--json]
${STUDY_USAGE}
${BENCH_USAGE}`;

/**
 * Opens --model (at --dtype; with --batch-memory, where the command takes it, continueMany's slot budget),
 * runs `fn` and frees the engine whatever happens.
 */
async function withModel<T>(args: ParsedArgs, fn: (m: OpenedModel) => Promise<T>): Promise<T> {
  const model = await openModelDir(
    required(args, 'model'),
    parseDtype(args.values.get('dtype')),
    batchMemoryOption(args),
  );
  try {
    return await fn(model);
  } finally {
    model.engine.destroy();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'eval': {
      const args = parseArgs(rest, { values: ['model', 'request', 'out', 'dtype'], flags: [] });
      const request = required(args, 'request');
      const out = required(args, 'out');
      const model = await openModelDir(required(args, 'model'), parseDtype(args.values.get('dtype')));
      try {
        await runEval(model, request, out);
      } finally {
        model.engine.destroy();
      }
      return;
    }
    case 'generate': {
      const args = parseArgs(rest, {
        values: [
          'model',
          'tokens',
          'prompt',
          'max-new-tokens',
          'temperature',
          'top-k',
          'top-p',
          'seed',
          'dtype',
          'weights',
          'mode',
        ],
        flags: ['greedy', 'json', 'normalize'],
        repeatable: ['state'],
      });
      return withModel(args, (m) => runGenerate(m, args));
    }
    case 'score': {
      const args = parseArgs(rest, {
        values: ['model', 'text', 'text-file', 'dtype', 'weights', 'mode'],
        flags: ['json', 'normalize'],
        repeatable: ['state'],
      });
      return withModel(args, (m) => runScore(m, args));
    }
    case 'state': {
      const [sub, ...more] = rest;
      if (sub !== 'capture')
        throw new UsageError(`Unknown state command "${sub ?? ''}"; use: state capture.`);
      const args = parseArgs(more, {
        values: ['model', 'text', 'text-file', 'out', 'name', 'dtype'],
        flags: ['json'],
      });
      required(args, 'out');
      return withModel(args, (m) => runStateCapture(m, args));
    }
    case 'study': {
      const { name, args } = parseStudyArgs(rest, parseArgs);
      const complete = await withModel(args, (m) =>
        runStudy(name, studyModelOf(m), required(args, 'model'), args),
      );
      if (!complete) process.exitCode = 130;
      return;
    }
    case 'bench':
      return runBench(parseArgs(rest, BENCH_OPTIONS));
    case 'tokenize': {
      const args = parseArgs(rest, { values: ['model', 'text'], flags: ['json'] });
      const dir = required(args, 'model');
      const tokenizer = await loadTokenizerFromDir(dir);
      const ids = tokenizer.encode(required(args, 'text'));
      process.stdout.write((args.flags.has('json') ? JSON.stringify({ ids }) : ids.join(',')) + '\n');
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      throw new UsageError(`Unknown command "${command}".\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    if (isUserError(e)) {
      const code = (e as NodeJS.ErrnoException).code;
      const message = code ? describeFsError(e as NodeJS.ErrnoException) : e.message;
      process.stderr.write(`soup: ${message}\n`);
      process.exit(e instanceof UsageError ? 2 : 1);
    }
    process.stderr.write(`soup: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(70);
  },
);
