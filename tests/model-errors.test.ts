/**
 * Each bad input gets its own refusal and message: a config that is not Mamba-1, a tensor missing, misshapen
 * or in an unsupported dtype, a truncated or corrupt file, an index that does not match its shards, a model
 * too large for the GPU, an upload that runs out of memory. Files come from local File objects (the browser's
 * picker path) so the messages name them as a user would see them; every failure leaves the sink destroyed.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, type LoadOptions } from '../src/model/loader.ts';
import { filesSource } from '../src/model/sources.ts';
import { ModelFormatError, ModelTooLargeError, TokenizerError } from '../src/model/errors.ts';
import { GpuOutOfMemoryError } from '../src/engine/gpu/device.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import type { AnyMambaConfig } from '../src/model/family.ts';
import { estimateMemory } from '../src/model/memory.ts';
import { formatBytes } from '../src/model/progress.ts';
import { RecordingSink } from './helpers/loading.ts';
import {
  broken,
  fixtureFiles,
  paddedVocab,
  sharded,
  tokenizerBytes,
  withConfig,
  type Files,
} from './helpers/model-variants.ts';

const A = fixtureFiles('tiny-a');

function asFiles(files: Files): File[] {
  return Object.entries(files).map(([name, bytes]) => new File([new Uint8Array(bytes)], name));
}

interface Outcome {
  error: unknown;
  made: RecordingSink[];
}

async function attempt(files: Files, extra: Partial<LoadOptions<RecordingSink>> = {}): Promise<Outcome> {
  const made: RecordingSink[] = [];
  let error: unknown;
  try {
    await loadModel(filesSource(asFiles(files), 'my-model'), {
      tokenizer: false,
      createSink: (config: AnyMambaConfig, precision: string) => {
        const s = new RecordingSink(config, precision);
        made.push(s);
        return s;
      },
      ...extra,
    });
  } catch (e) {
    error = e;
  }
  // Whatever failed, nothing half-built survives.
  for (const s of made) expect(s.destroyed).toBe(true);
  return { error, made };
}

async function message(files: Files, extra: Partial<LoadOptions<RecordingSink>> = {}): Promise<string> {
  const { error } = await attempt(files, extra);
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe('refused checkpoints, each with its message', () => {
  it('a Mamba-1 config relabelled "mamba2": read as Mamba-2, refused for what it lacks', async () => {
    const { error } = await attempt(withConfig(A, { model_type: 'mamba2' }));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toBe(
      'my-model/config.json: "num_heads" must be a positive integer (found nothing).',
    );
  });

  it('a config of another architecture', async () => {
    const { error } = await attempt(withConfig(A, { model_type: 'gpt2' }));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toBe(
      'my-model/config.json: model_type is "gpt2", not "mamba" or "mamba2"; this is not a Mamba model. Pick a checkpoint in the Hugging Face layout (for example state-spaces/mamba-130m-hf or AntonV/mamba2-130m-hf).',
    );
  });

  it('a config that is not JSON', async () => {
    const files = { ...A, 'config.json': new TextEncoder().encode('<html>Not Found</html>') };
    expect(await message(files)).toBe(
      'my-model/config.json is not valid JSON; the file is corrupt or is not a model file. Download it again.',
    );
  });

  it('a missing tensor', async () => {
    const { error, made } = await attempt(broken(A, 'backbone.layers.1.mixer.A_log', 'missing'));
    expect((error as Error).message).toBe(
      'my-model/model.safetensors is missing tensor "backbone.layers.1.mixer.A_log" that config.json requires.',
    );
    expect(made.length).toBe(0); // refused from the header, before a sink was made
  });

  it('an untied config whose file has no lm_head.weight', async () => {
    expect(await message(withConfig(A, { tie_word_embeddings: false }))).toBe(
      'my-model/model.safetensors is missing tensor "lm_head.weight" that config.json requires (config.json says the embeddings are not tied).',
    );
  });

  it('a tensor of the wrong shape', async () => {
    expect(await message(broken(A, 'backbone.layers.0.mixer.x_proj.weight', 'wrong-shape'))).toBe(
      'my-model/model.safetensors: tensor "backbone.layers.0.mixer.x_proj.weight" has shape [4608] but config.json implies [36, 128].',
    );
  });

  it('an embedding that does not match vocab_size', async () => {
    expect(await message(withConfig(A, { vocab_size: 320 }))).toBe(
      'my-model/model.safetensors: tensor "backbone.embeddings.weight" has shape [300, 64] but config.json implies [320, 64] (vocab_size is 320, hidden_size 64).',
    );
  });

  it('an integer tensor where a weight should be', async () => {
    expect(await message(broken(A, 'backbone.norm_f.weight', 'int32'))).toBe(
      'my-model/model.safetensors: tensor "backbone.norm_f.weight" is stored as I32, which is not supported for weights (use F32, F16 or BF16).',
    );
  });

  it('an F64 tensor', async () => {
    expect(await message(broken(A, 'backbone.layers.0.mixer.D', 'f64'))).toBe(
      'my-model/model.safetensors: tensor "backbone.layers.0.mixer.D" is stored as F64, which is not supported for weights (use F32, F16 or BF16).',
    );
  });

  it('a truncated file (its size is known: caught at the header)', async () => {
    const w = A['model.safetensors']!;
    const files = { ...A, 'model.safetensors': w.slice(0, w.byteLength - 5000) };
    const { error, made } = await attempt(files);
    expect((error as Error).message).toBe(
      `my-model/model.safetensors is truncated: its header describes ${w.byteLength} bytes but the file has ${w.byteLength - 5000}. Download it again.`,
    );
    expect(made.length).toBe(0);
  });

  it('a file cut inside its header', async () => {
    expect(await message({ ...A, 'model.safetensors': A['model.safetensors']!.slice(0, 100) })).toBe(
      'my-model/model.safetensors is truncated inside its header. Download it again.',
    );
  });

  it('a file that is not safetensors (an HTML error page saved under its name)', async () => {
    const html = new TextEncoder().encode('<!doctype html><html><body>Bad gateway</body></html>');
    expect(await message({ ...A, 'model.safetensors': html })).toMatch(
      /^my-model\/model\.safetensors is not a safetensors file \(header length \d+ is implausible\); the file may be corrupt or of another format\.$/,
    );
  });

  it('a header that is not JSON', async () => {
    const w = A['model.safetensors']!.slice();
    w[8] = 0x7b; // "{"
    w[9] = 0x7b; // "{{" cannot start JSON
    expect(await message({ ...A, 'model.safetensors': w })).toBe(
      'my-model/model.safetensors has a header that is not valid JSON; the file is corrupt.',
    );
  });

  it('an index that does not list a tensor the config requires', async () => {
    const s = sharded(A, 2);
    const idx = JSON.parse(new TextDecoder().decode(s['model.safetensors.index.json'])) as {
      weight_map: Record<string, string>;
    };
    delete idx.weight_map['backbone.norm_f.weight'];
    s['model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify(idx));
    expect(await message(s)).toBe(
      'my-model/model.safetensors.index.json does not list tensor "backbone.norm_f.weight" that config.json requires; the checkpoint is incomplete or not a Mamba-1 model.',
    );
  });

  it('a shard that lacks a tensor its index places in it', async () => {
    const s = sharded(A, 2);
    const idx = JSON.parse(new TextDecoder().decode(s['model.safetensors.index.json'])) as {
      weight_map: Record<string, string>;
    };
    const [name, shard] = Object.entries(idx.weight_map)[0]!;
    const other = shard.includes('00001')
      ? 'model-00002-of-00002.safetensors'
      : 'model-00001-of-00002.safetensors';
    idx.weight_map[name] = other;
    s['model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify(idx));
    expect(await message(s)).toBe(`my-model/${other} is missing tensor "${name}" that config.json requires.`);
  });

  it('an index that points outside the folder', async () => {
    const s = sharded(A, 2);
    const idx = JSON.parse(new TextDecoder().decode(s['model.safetensors.index.json'])) as {
      weight_map: Record<string, string>;
    };
    idx.weight_map['backbone.norm_f.weight'] = '../../secret.safetensors';
    s['model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify(idx));
    expect(await message(s)).toBe(
      'my-model/model.safetensors.index.json: tensor "backbone.norm_f.weight" maps to "../../secret.safetensors", which is not a shard file name.',
    );
  });

  it('a shard missing from the picked files', async () => {
    const s = sharded(A, 2);
    delete s['model-00002-of-00002.safetensors'];
    expect(await message(s)).toBe(
      "my-model has no model-00002-of-00002.safetensors. Pick the checkpoint's config.json, tokenizer.json and model.safetensors (or its index and shards) together.",
    );
  });

  it('picked files without any weights', async () => {
    expect(await message({ 'config.json': A['config.json']! })).toBe(
      'my-model has neither model.safetensors nor model.safetensors.index.json. Only safetensors checkpoints can be loaded: pick a repo that has them (the state-spaces/mamba-*-hf repos do), or convert pytorch_model.bin to safetensors first.',
    );
  });

  it('a tokenizer with more tokens than the model has embeddings', async () => {
    const { error } = await attempt({ ...A, 'tokenizer.json': tokenizerBytes() }, { tokenizer: true });
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toBe(
      'my-model/tokenizer.json has 50277 tokens but my-model/config.json gives the model a vocabulary of 300; they belong to different models.',
    );
  });

  it('a tokenizer.json that is not a tokenizer', async () => {
    const files = { ...paddedVocab(A), 'tokenizer.json': new TextEncoder().encode('{"version": "1.0"}') };
    const { error } = await attempt(files, { tokenizer: true });
    expect(error).toBeInstanceOf(TokenizerError);
    expect((error as Error).message).toBe(
      'my-model/tokenizer.json is not a Hugging Face tokenizer file (it has no "model"); use the tokenizer.json of the checkpoint.',
    );
  });

  it('a model too large for the memory budget is refused before its weights are read', async () => {
    const config = parseMambaConfig(JSON.parse(new TextDecoder().decode(A['config.json'])));
    const f32 = estimateMemory(config, 'f32');
    const f16 = estimateMemory(config, 'f16');
    // Room for the f16 model but not the f32 one.
    const budget = f16.totalBytes + 1;
    expect(f32.totalBytes).toBeGreaterThan(budget);
    let weightsOpened = false;
    const files = asFiles(A).map((f) =>
      f.name === 'model.safetensors'
        ? Object.assign(f, {
            stream: () => {
              weightsOpened = true;
              return new Blob([new Uint8Array(A['model.safetensors']!)]).stream();
            },
          })
        : f,
    );
    const made: RecordingSink[] = [];
    const err = await loadModel(filesSource(files, 'my-model'), {
      tokenizer: false,
      precision: 'f32',
      memoryBudgetBytes: budget,
      createSink: (c, p) => {
        const s = new RecordingSink(c, p);
        made.push(s);
        return s;
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect((err as Error).message).toBe(
      `my-model needs about ${formatBytes(f32.totalBytes)} of GPU memory at f32 (${formatBytes(f32.weightBytes)} of weights, ${formatBytes(f32.activationBytes + f32.stateBytes)} of activations and states), more than the ${formatBytes(budget)} available. At f16 it needs about ${formatBytes(f16.totalBytes)}, which fits: choose f16 precision.`,
    );
    expect(weightsOpened).toBe(false);
    expect(made.length).toBe(0);
  });

  it('running out of GPU memory during upload destroys the model and keeps the message', async () => {
    const oom = new GpuOutOfMemoryError('The GPU ran out of memory while uploading weights.');
    const made: RecordingSink[] = [];
    const err = await loadModel(filesSource(asFiles(A), 'my-model'), {
      tokenizer: false,
      createSink: (c, p) => {
        const s = new RecordingSink(c, p, { upload: 5, error: oom });
        made.push(s);
        return s;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(oom);
    expect(made.length).toBe(1);
    expect(made[0]!.destroyed).toBe(true);
    expect(made[0]!.finalized).toBe(false);
  });
});
