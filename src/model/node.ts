/**
 * Loading from a folder on disk in Node (the command line, tests). Files are streamed from disk in chunks, so
 * a multi-gigabyte checkpoint never sits in memory whole. Kept apart from the browser modules because it
 * imports node:fs.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DownloadError } from './errors.ts';
import { loadModel, TOKENIZER_FILE, type LoadOptions, type LoadedModel, type WeightSink } from './loader.ts';
import { defaultBundledModel, parseBundledManifest, type ModelSource } from './sources.ts';
import { MambaTokenizer } from './tokenizer.ts';

/** A checkpoint folder on disk: config.json, tokenizer.json, model.safetensors or an index and its shards. */
export function dirSource(dir: string): ModelSource {
  const root = resolve(dir);
  return {
    id: root,
    label: (file) => join(root, file),
    async open(file) {
      const path = join(root, file);
      let size: number;
      try {
        const s = await stat(path);
        if (!s.isFile()) throw new Error('not a file');
        size = s.size;
      } catch {
        throw new DownloadError(`${path} does not exist. Is ${root} a checkpoint folder?`, 'not-found', path);
      }
      const stream = createReadStream(path, { highWaterMark: 1 << 20 });
      return {
        body: stream as AsyncIterable<Uint8Array>,
        size,
        fromCache: false,
        commit: async () => undefined,
        abort: () => void stream.destroy(),
      };
    },
  };
}

/** Streams the checkpoint in `dir` into the sink `opts.createSink` builds (for the CLI: a GpuMambaModel). */
export function loadModelFromDir<S extends WeightSink>(
  dir: string,
  opts: LoadOptions<S>,
): Promise<LoadedModel<S>> {
  return loadModel(dirSource(dir), opts);
}

/** Just the tokenizer of the checkpoint in `dir` (for `soup tokenize`). */
export async function loadTokenizerFromDir(dir: string): Promise<MambaTokenizer> {
  const path = join(resolve(dir), TOKENIZER_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DownloadError(
      `${path} does not exist: the model folder needs its tokenizer.json.`,
      'not-found',
      path,
    );
  }
  return MambaTokenizer.fromJSON(text, path);
}

/** The folder of the default model that `modelsDir/manifest.json` names (by folder or id), e.g. for
 * `public/models`: the bundled model, for scripts and tests that run it from disk. */
export function bundledModelDir(modelsDir: string): string {
  const path = join(resolve(modelsDir), 'manifest.json');
  const entry = defaultBundledModel(parseBundledManifest(JSON.parse(readFileSync(path, 'utf8')), path), path);
  return join(resolve(modelsDir), entry.folder);
}
