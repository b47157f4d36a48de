/**
 * The command line's side of the studies: a model folder opened for them (the StudyModel the studies core
 * runs on) and where their tasks come from (the model's tasks.json, else the bundled suite, or the user's
 * `input->output` files).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledModelDir } from '../model/node.ts';
import { linesTask, parseTaskSuite, suiteTasks, type StudyModel, type StudyTask } from '../studies/index.ts';
import { UsageError } from './args.ts';
import type { OpenedModel } from './model-dir.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The id a model folder goes by: its folder name (the bundled model's is its id in the app). */
export function modelIdOfDir(dir: string): string {
  return basename(resolve(dir));
}

export function studyModelOf(m: OpenedModel): StudyModel {
  if (!m.tokenizer) throw new UsageError(`${m.dir} has no tokenizer.json; the studies need text prompts.`);
  const tok = m.tokenizer;
  return {
    engine: m.engine,
    tokenizer: { encode: (t) => tok.encode(t), decode: (ids) => tok.decode(ids) },
    aLogs: m.aLogs,
    info: {
      id: modelIdOfDir(m.dir),
      weightsHash: m.weightsHash,
      adapter: m.adapter,
      dtype: m.dtype,
      layers: m.config.numLayers,
      dModel: m.config.hiddenSize,
    },
  };
}

function readSuite(path: string, label: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw e;
    throw new UsageError(`${path} is not valid JSON.`);
  }
  return { suite: parseTaskSuite(raw, label), label };
}

/** The model's own tasks.json, or the bundled model's suite for models without one. */
export function taskSuiteFor(modelDir: string) {
  const own = join(resolve(modelDir), 'tasks.json');
  if (existsSync(own)) return readSuite(own, `tasks.json of ${modelIdOfDir(modelDir)}`);
  const bundled = join(bundledModelDir(join(ROOT, 'public/models')), 'tasks.json');
  return readSuite(bundled, `the bundled suite (${modelIdOfDir(dirname(bundled))}/tasks.json)`);
}

/** `--tasks a,b` from the suite, or `--tasks-file F` (repeatable: one task per file, named by the file). */
export function resolveTasks(modelDir: string, names: string | undefined, files: string[]): StudyTask[] {
  if ((names === undefined) === (files.length === 0))
    throw new UsageError('Give exactly one of --tasks a,b or --tasks-file F.');
  if (names !== undefined) {
    const { suite, label } = taskSuiteFor(modelDir);
    return suiteTasks(
      suite,
      names
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
      label,
    );
  }
  return files.map((f) =>
    linesTask(basename(f).replace(/\.[^.]*$/, ''), readFileSync(f, 'utf8'), `file ${f}`),
  );
}
