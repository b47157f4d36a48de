/**
 * `soup study icl|chunked|retrieval|switch`: the studies core (src/studies) on a model folder. `--json`
 * prints the shapes ({rows, …}) plus `run`, the run record; without it a table. Progress with an ETA
 * goes to stderr on a terminal; Ctrl-C cancels and still prints the rows that finished.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  CHUNKED_DEFAULTS,
  ICL_DEFAULTS,
  parseAlphas,
  RETRIEVAL_DEFAULTS,
  runChunked,
  runIcl,
  runRetrieval,
  runSwitch,
  SWITCH_DEFAULTS,
  type StudyHooks,
  type StudyModel,
} from '../studies/index.ts';
import { intList, intOption, required, UsageError, type OptionSpec, type ParsedArgs } from './args.ts';
import { resolveTasks } from './study-model.ts';

const COMMON = ['model', 'dtype', 'seed', 'max-new-tokens', 'batch-memory'];

export const STUDY_OPTIONS: Record<string, OptionSpec> = {
  icl: {
    values: [...COMMON, 'tasks', 'shots', 'states', 'queries'],
    flags: ['json', 'details'],
    repeatable: ['tasks-file'],
  },
  chunked: {
    values: ['model', 'dtype', 'seed', 'chunks', 'continuation', 'order-samples'],
    flags: ['json'],
    repeatable: ['text-file'],
  },
  retrieval: {
    values: [
      ...COMMON,
      'tasks',
      'library-shots',
      'library-states',
      'query-shots',
      'queries',
      'layer',
      'metric',
    ],
    flags: ['json'],
    repeatable: ['tasks-file'],
  },
  switch: {
    values: [...COMMON, 'tasks', 'alphas', 'queries', 'shots'],
    flags: ['json'],
    repeatable: ['tasks-file'],
  },
};

export const STUDY_USAGE = `  study icl --model DIR (--tasks a,b | --tasks-file F ...) [--shots 1,2,4] [--states 4] [--queries 50]
            [--seed 1] [--max-new-tokens 12] [--dtype f32|f16|int8] [--json [--details]]
            (icl, retrieval, switch: [--batch-memory MiB] for continueMany's state slots, default 256)
  study chunked --model DIR --text-file F [--text-file G ...] [--chunks 2,4,8] [--continuation 128]
            [--order-samples 720] [--seed 1] [--json]
  study retrieval --model DIR (--tasks a,b,… | --tasks-file F ...) [--library-shots 4] [--library-states 1]
            [--query-shots 1,2] [--queries 50] [--layer N|all] [--metric cosine|l2] [--seed 1] [--json]
  study switch --model DIR --tasks A,B [--alphas 0:1:21] [--queries 50] [--shots 2] [--seed 1] [--json]`;

function progressHooks(signal: AbortSignal): StudyHooks {
  const hooks: StudyHooks = { signal };
  if (process.stderr.isTTY) {
    hooks.onProgress = (p) => {
      const eta = p.etaMs === undefined ? '' : `, about ${Math.ceil(p.etaMs / 1000)} s left`;
      process.stderr.write(`\r\x1b[K${p.done}/${p.total}${eta}: ${p.label}`);
      if (p.done === p.total) process.stderr.write('\n');
    };
  }
  return hooks;
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows finished)\n';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i]!)).join('  ') + '\n';
  return line(keys) + rows.map((r) => line(keys.map((k) => cell(r[k])))).join('');
}

function seedOf(args: ParsedArgs, fallback: number): number {
  return intOption(args, 'seed', fallback)!;
}

/** Runs one study; returns false when it was cancelled (the finished rows were printed). */
export async function runStudy(
  name: string,
  model: StudyModel,
  dir: string,
  args: ParsedArgs,
): Promise<boolean> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const hooks = progressHooks(ac.signal);
  const json = args.flags.has('json');
  const maxNewTokens = intOption(args, 'max-new-tokens');
  const extra = maxNewTokens === undefined ? {} : { maxNewTokens };
  let out: { run: { complete: boolean } } & Record<string, unknown>;
  let tables: Record<string, unknown>[][];
  try {
    switch (name) {
      case 'icl': {
        const r = await runIcl(
          model,
          {
            tasks: resolveTasks(dir, args.values.get('tasks'), args.lists.get('tasks-file') ?? []),
            shots: intList(args, 'shots', ICL_DEFAULTS.shots),
            states: intOption(args, 'states', ICL_DEFAULTS.states)!,
            queries: intOption(args, 'queries', ICL_DEFAULTS.queries)!,
            seed: seedOf(args, ICL_DEFAULTS.seed),
            details: args.flags.has('details'),
            ...extra,
          },
          hooks,
        );
        out = { ...r };
        tables = [r.rows as never];
        break;
      }
      case 'chunked': {
        const files = args.lists.get('text-file') ?? [];
        if (files.length === 0) throw new UsageError('Give at least one --text-file.');
        const r = await runChunked(
          model,
          {
            documents: files.map((f) => ({ name: basename(f), text: readFileSync(f, 'utf8'), source: f })),
            chunks: intList(args, 'chunks', CHUNKED_DEFAULTS.chunks),
            continuation: intOption(args, 'continuation', CHUNKED_DEFAULTS.continuation)!,
            orderSamples: intOption(args, 'order-samples', CHUNKED_DEFAULTS.orderSamples)!,
            seed: seedOf(args, CHUNKED_DEFAULTS.seed),
          },
          hooks,
        );
        out = { ...r };
        tables = [r.rows as never];
        break;
      }
      case 'retrieval': {
        const layerArg = args.values.get('layer');
        const layer = layerArg === undefined || layerArg === 'all' ? layerArg : Number(layerArg);
        if (typeof layer === 'number' && !Number.isInteger(layer))
          throw new UsageError(`--layer must be a layer number or "all" (got "${layerArg}").`);
        const metric = args.values.get('metric');
        if (metric !== undefined && metric !== 'cosine' && metric !== 'l2')
          throw new UsageError(`--metric must be cosine or l2 (got "${metric}").`);
        const r = await runRetrieval(
          model,
          {
            tasks: resolveTasks(dir, args.values.get('tasks'), args.lists.get('tasks-file') ?? []),
            libraryShots: intOption(args, 'library-shots', RETRIEVAL_DEFAULTS.libraryShots)!,
            libraryStates: intOption(args, 'library-states', RETRIEVAL_DEFAULTS.libraryStates)!,
            queryShots: intList(args, 'query-shots', RETRIEVAL_DEFAULTS.queryShots),
            queries: intOption(args, 'queries', RETRIEVAL_DEFAULTS.queries)!,
            seed: seedOf(args, RETRIEVAL_DEFAULTS.seed),
            ...(layer === undefined ? {} : { retrieveLayer: layer }),
            ...(metric === undefined ? {} : { retrieveMetric: metric }),
            ...extra,
          },
          hooks,
        );
        out = { ...r };
        tables = [r.rows as never, r.answers as never];
        break;
      }
      case 'switch': {
        const tasks = resolveTasks(dir, args.values.get('tasks'), args.lists.get('tasks-file') ?? []);
        if (tasks.length !== 2)
          throw new UsageError(`--tasks must name two tasks, A,B (got ${tasks.length}).`);
        const r = await runSwitch(
          model,
          {
            tasks: [tasks[0]!, tasks[1]!],
            alphas: parseAlphas(args.values.get('alphas') ?? SWITCH_DEFAULTS.alphas),
            queries: intOption(args, 'queries', SWITCH_DEFAULTS.queries)!,
            shots: intOption(args, 'shots', SWITCH_DEFAULTS.shots)!,
            seed: seedOf(args, SWITCH_DEFAULTS.seed),
            ...extra,
          },
          hooks,
        );
        out = { ...r };
        tables = [r.rows as never];
        break;
      }
      default:
        throw new UsageError(`Unknown study "${name}"; the studies are icl, chunked, retrieval and switch.`);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (json) process.stdout.write(JSON.stringify(out) + '\n');
  else process.stdout.write(tables.map(table).join('\n'));
  if (!out.run.complete) process.stderr.write('soup: cancelled; the rows above are those that finished.\n');
  return out.run.complete;
}

/** The study's name and its parsed options (usage errors before the model loads). */
export function parseStudyArgs(rest: string[], parse: (argv: string[], spec: OptionSpec) => ParsedArgs) {
  const [name, ...argv] = rest;
  const spec = name === undefined ? undefined : STUDY_OPTIONS[name];
  if (!spec) throw new UsageError(`Name a study: icl, chunked, retrieval or switch.\n${STUDY_USAGE}`);
  const args = parse(argv, spec);
  required(args, 'model');
  return { name: name!, args };
}
