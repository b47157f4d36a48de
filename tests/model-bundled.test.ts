/**
 * The app's bundled model (public/models, shipped by the training work): read through its manifest over HTTP
 * as the app does, and from disk as the command line does, with its own tokenizer. Skipped, and saying so,
 * while public/models has no manifest (before the model is shipped).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/model/loader.ts';
import { loadModelFromDir, loadTokenizerFromDir } from '../src/model/node.ts';
import { bundledSource, fetchBundledManifest } from '../src/model/sources.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { DownloadError } from '../src/model/errors.ts';
import type { AnyMambaConfig } from '../src/model/family.ts';
import { startHubServer, repoFromFolder, type HubServer } from './helpers/hub-server.ts';
import { RecordingSink } from './helpers/loading.ts';

const MODELS = join(import.meta.dirname, '../public/models');
const manifestPath = join(MODELS, 'manifest.json');
const shipped = existsSync(manifestPath);
const manifest = shipped
  ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as { default: string; models: { folder: string }[] })
  : undefined;
const folder = manifest?.default ?? '';
const dir = join(MODELS, folder);

const sink = (made: RecordingSink[]) => (config: AnyMambaConfig, p: string) => {
  const s = new RecordingSink(config, p);
  made.push(s);
  return s;
};

describe.skipIf(!shipped)(`the bundled model (public/models/${folder || '…'})`, () => {
  let server: HubServer;
  beforeAll(async () => {
    const statics: Record<string, Uint8Array> = {
      '/models/manifest.json': new Uint8Array(readFileSync(manifestPath)),
    };
    for (const [name, bytes] of Object.entries(repoFromFolder(dir)))
      statics[`/models/${folder}/${name}`] = bytes;
    server = await startHubServer({ repos: {}, statics });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('loads over HTTP through its manifest, tensors bit-exact, with a working tokenizer', async () => {
    const modelsUrl = `${server.url}/models`;
    const m = await fetchBundledManifest(modelsUrl);
    expect(m.default).toBe(folder);
    const made: RecordingSink[] = [];
    const loaded = await loadModel(bundledSource(m.default, modelsUrl), { createSink: sink(made) });
    expect(loaded.source).toBe(`bundled:${folder}`);
    const st = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    // Compared as bytes: toEqual over a million-element array takes a minute.
    const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const [n, t] of loaded.sink.tensors) expect(bytesOf(t).equals(bytesOf(st.float32(n))), n).toBe(true);
    expect(loaded.sink.tensors.size).toBe(st.names.filter((n) => n !== 'lm_head.weight').length);
    // A 16-bit checkpoint of a few MB keeps its own precision: f16.
    if (loaded.checkpointDtype !== 'F32') expect(loaded.precision).toBe('f16');
    const tok = loaded.tokenizer!;
    const text = 'The quick brown fox jumps over the lazy dog.';
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(3);
    expect(Math.max(...ids)).toBeLessThan(loaded.config.vocabSize);
    expect(tok.decode(ids)).toBe(text);
  });

  it('loads from disk as the command line does; loadTokenizerFromDir gives the same ids', async () => {
    const made: RecordingSink[] = [];
    const loaded = await loadModelFromDir(dir, { createSink: sink(made) });
    expect(loaded.sink.finalized).toBe(true);
    const tok = await loadTokenizerFromDir(dir);
    expect(tok.encode('hot->cold\nbig->')).toEqual(loaded.tokenizer!.encode('hot->cold\nbig->'));
  });

  it('a missing folder says what it is missing', async () => {
    await expect(loadTokenizerFromDir(join(MODELS, 'no-such-model'))).rejects.toThrow(DownloadError);
    await expect(loadTokenizerFromDir(join(MODELS, 'no-such-model'))).rejects.toThrow(
      /no-such-model\/tokenizer\.json does not exist: the model folder needs its tokenizer\.json\.$/,
    );
    const made: RecordingSink[] = [];
    await expect(loadModelFromDir(join(MODELS, 'no-such-model'), { createSink: sink(made) })).rejects.toThrow(
      /no-such-model\/config\.json does not exist\. Is .*no-such-model a checkpoint folder\?$/,
    );
  });

  it('a manifest that is missing is reported with what to do instead', async () => {
    await expect(fetchBundledManifest(`${server.url}/nothing-here`)).rejects.toThrow(
      `The app's model list could not be read (HTTP 404 at ${server.url}/nothing-here/manifest.json). Load a model from the hub or from local files instead.`,
    );
  });
});
