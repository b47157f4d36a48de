/**
 * The command line: `npm run -s soup -- <command> ...`. The same engine as the app, on the WebGPU adapter that
 * Node finds (a real GPU, else SwiftShader). Errors a user can fix print one line and exit 1 (2 for usage).
 */
import { parseArgs, required, UsageError } from './args.ts';
import { BENCH_OPTIONS, BENCH_USAGE, runBench } from './bench.ts';
import { runEval } from './eval.ts';
import { runGenerate } from './generate.ts';
import { loadTokenizerFromDir } from '../model/node.ts';
import { openModelDir, parseDtype } from './model-dir.ts';
import { describeFsError, isUserError } from './output.ts';

const USAGE = `usage: soup <command> [options]
  eval      --model DIR --request REQ.json --out OUT.safetensors [--dtype f32|f16]
  generate  --model DIR (--tokens 1,2,3 | --prompt TEXT) --max-new-tokens N
            [--greedy | --temperature T --top-k K --top-p P --seed S] [--dtype f32|f16] [--json]
  tokenize  --model DIR --text TEXT [--json]
${BENCH_USAGE}`;

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
        ],
        flags: ['greedy', 'json'],
      });
      const model = await openModelDir(required(args, 'model'), parseDtype(args.values.get('dtype')));
      try {
        await runGenerate(model, args);
      } finally {
        model.engine.destroy();
      }
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
  () => process.exit(0),
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
