/**
 * Every checkpoint format loads, streamed tensor by tensor, and computes what it should: F32 (single and
 * sharded) reproduces the transformers fixtures within 1e-3; F16 and BF16 reproduce what the CPU reference
 * computes on the same rounded weights. Served by the local hub server (with its CDN redirect) or read from a
 * folder on disk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { loadModel, type LoadProgress } from '../src/model/loader.ts';
import { loadModelFromDir } from '../src/model/node.ts';
import { hubSource } from '../src/model/sources.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { loadFixture, relMaxDiff, safetensorsSource } from './helpers/fixtures.ts';
import { startHubServer, type HubServer } from './helpers/hub-server.ts';
import { RecordingSink } from './helpers/loading.ts';
import {
  asDtype,
  fixtureFiles,
  paddedVocab,
  sharded,
  tiedWithHead,
  untied,
  type Files,
} from './helpers/model-variants.ts';
import { weightsFromSource } from '../src/engine/weights.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import type { AnyMambaConfig } from '../src/model/family.ts';

const A = fixtureFiles('tiny-a');
const B = fixtureFiles('tiny-b');

let hub: HubServer;
beforeAll(async () => {
  hub = await startHubServer({
    repos: {
      'test/tiny-a': A,
      'test/tiny-b-sharded': sharded(B, 3),
      'test/tiny-a-f16': asDtype(A, 'F16'),
      'test/tiny-b-bf16': asDtype(B, 'BF16'),
      'test/tiny-b-bf16-sharded': sharded(B, 2, 'BF16'),
      'test/tiny-a-untied': untied(A),
      'test/tiny-a-tied-head': tiedWithHead(A),
      'test/padded': paddedVocab(A),
    },
    revisions: ['v1'],
    lfsThreshold: 4096,
  });
});
afterAll(async () => {
  await hub.close();
});

function sinkFactory(made: RecordingSink[]) {
  return (config: AnyMambaConfig, precision: string) => {
    const s = new RecordingSink(config, precision);
    made.push(s);
    return s;
  };
}

async function loadHub(repo: string, extra: { revision?: string; tokenizer?: boolean } = {}) {
  const made: RecordingSink[] = [];
  const progress: LoadProgress[] = [];
  const loaded = await loadModel(
    hubSource({ repo, revision: extra.revision, hubUrl: hub.url, retryDelayMs: 10 }),
    {
      createSink: sinkFactory(made),
      tokenizer: extra.tokenizer ?? false,
      progressIntervalMs: 0,
      onProgress: (p) => progress.push(p),
    },
  );
  expect(made.length).toBe(1);
  expect(loaded.sink).toBe(made[0]);
  expect(loaded.sink.finalized).toBe(true);
  expect(loaded.sink.destroyed).toBe(false);
  return { loaded, progress };
}

/** Logits of every fixture sequence through the CPU reference on the loaded weights, against transformers. */
function expectFixtureLogits(sink: RecordingSink, name: 'tiny-a' | 'tiny-b', tol: number) {
  const fx = loadFixture(name);
  let worst = 0;
  for (const seq of fx.sequences) {
    const tokens = fx.expected.int32(`${seq}.tokens`);
    const { logits } = referenceForward(sink.weights(), tokens);
    worst = Math.max(worst, relMaxDiff(logits, fx.expected.float32(`${seq}.logits`)));
  }
  expect(worst).toBeLessThan(tol);
  return worst;
}

/** The weights of `files` as stored (rounded to its dtype), decoded by the whole-file reader. */
function storedWeights(files: Files, file = 'model.safetensors') {
  const config = parseMambaConfig(JSON.parse(new TextDecoder().decode(files['config.json'])));
  const st = new SafetensorsFile(files[file]!, file);
  return { config, st, weights: weightsFromSource(config, safetensorsSource(st)) };
}

describe('formats through the local hub (302 to the CDN origin for large files)', () => {
  it('F32 single file: the fixture tensors exactly, and fixture logits within 1e-3', async () => {
    const { loaded, progress } = await loadHub('test/tiny-a');
    const fx = fixtureFiles('tiny-a');
    const st = new SafetensorsFile(fx['model.safetensors']!);
    expect([...loaded.sink.tensors.keys()].sort()).toEqual(st.names.sort());
    for (const n of st.names) expect(loaded.sink.tensors.get(n)).toEqual(st.float32(n));
    expect(loaded.precision).toBe('f32');
    expect(loaded.checkpointDtype).toBe('F32');
    expectFixtureLogits(loaded.sink, 'tiny-a', 1e-3);
    // The weights came through the hub's redirect, as a real checkpoint does.
    expect(
      hub.log.some((r) => r.server === 'hub' && r.status === 302 && r.path.endsWith('model.safetensors')),
    ).toBe(true);
    expect(hub.log.some((r) => r.server === 'cdn' && r.status === 200)).toBe(true);
    // Progress: bytes rise to the file size, percent ends at 100, the tensor count at all of them.
    const weights = progress.filter((p) => p.phase === 'weights');
    expect(weights.length).toBeGreaterThan(2);
    const size = fx['model.safetensors']!.byteLength;
    for (let i = 1; i < weights.length; i++)
      expect(weights[i]!.overallLoaded).toBeGreaterThanOrEqual(weights[i - 1]!.overallLoaded);
    const last = weights[weights.length - 1]!;
    expect(last.total).toBe(size);
    expect(last.overallLoaded).toBe(size);
    expect(last.percent).toBeCloseTo(100, 6);
    expect(last.tensorsDone).toBe(last.tensorsTotal);
    expect(progress[progress.length - 1]!.phase).toBe('done');
  });

  it('a revision other than main resolves under /resolve/{revision}/', async () => {
    await loadHub('test/tiny-a', { revision: 'v1' });
    expect(hub.log.some((r) => r.path === '/test/tiny-a/resolve/v1/config.json')).toBe(true);
  });

  it('F32 sharded with an index: every shard read, fixture logits within 1e-3', async () => {
    const { loaded, progress } = await loadHub('test/tiny-b-sharded');
    expect(loaded.files.map((f) => f.file)).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
    expect(new Set(progress.filter((p) => p.phase === 'weights').map((p) => p.fileIndex))).toEqual(
      new Set([0, 1, 2]),
    );
    const fx = loadFixture('tiny-b');
    const st = new SafetensorsFile(fixtureFiles('tiny-b')['model.safetensors']!);
    for (const n of st.names) expect(loaded.sink.tensors.get(n)).toEqual(st.float32(n));
    expect(fx.sequences.length).toBeGreaterThan(0);
    expectFixtureLogits(loaded.sink, 'tiny-b', 1e-3);
  });

  for (const [repo, name, files, dtype] of [
    ['test/tiny-a-f16', 'tiny-a', asDtype(A, 'F16'), 'F16'],
    ['test/tiny-b-bf16', 'tiny-b', asDtype(B, 'BF16'), 'BF16'],
  ] as const) {
    it(`${dtype}: tensors equal the stored rounded values; logits equal the reference on the rounded weights`, async () => {
      const { loaded } = await loadHub(repo);
      expect(loaded.checkpointDtype).toBe(dtype);
      expect(loaded.precision).toBe('f16'); // a 16-bit checkpoint loads as packed f16 by default
      const { st, weights } = storedWeights(files);
      for (const n of st.names) expect(loaded.sink.tensors.get(n)).toEqual(st.float32(n));
      const fx = loadFixture(name);
      for (const seq of fx.sequences) {
        const tokens = fx.expected.int32(`${seq}.tokens`);
        const got = referenceForward(loaded.sink.weights(), tokens).logits;
        const want = referenceForward(weights, tokens).logits;
        expect(relMaxDiff(got, want)).toBeLessThan(1e-6);
      }
      // The rounding itself moves the logits away from the f32 fixture (measured, not asserted as a pass).
      const seq = fx.sequences[0]!;
      const drift = relMaxDiff(
        referenceForward(weights, fx.expected.int32(`${seq}.tokens`)).logits,
        fx.expected.float32(`${seq}.logits`),
      );
      console.info(
        `${dtype} ${name}: rounding moves logits of "${seq}" by ${drift.toExponential(2)} (rel max)`,
      );
      expect(drift).toBeGreaterThan(0);
    });
  }

  it('BF16 sharded loads the same tensors as BF16 single-file', async () => {
    const { loaded } = await loadHub('test/tiny-b-bf16-sharded');
    const { st } = storedWeights(asDtype(B, 'BF16'));
    for (const n of st.names) expect(loaded.sink.tensors.get(n)).toEqual(st.float32(n));
  });

  it('untied: lm_head.weight is uploaded and used by the reference', async () => {
    const { loaded } = await loadHub('test/tiny-a-untied');
    expect(loaded.config.tieWordEmbeddings).toBe(false);
    expect(loaded.sink.tensors.has('lm_head.weight')).toBe(true);
    const { weights } = storedWeights(untied(A));
    const fx = loadFixture('tiny-a');
    const tokens = fx.expected.int32(`${fx.sequences[0]}.tokens`);
    const got = referenceForward(loaded.sink.weights(), tokens).logits;
    expect(relMaxDiff(got, referenceForward(weights, tokens).logits)).toBeLessThan(1e-6);
    // A different head gives different logits than the tied fixture: the head really was used.
    expect(relMaxDiff(got, fx.expected.float32(`${fx.sequences[0]}.logits`))).toBeGreaterThan(1e-2);
  });

  it('tied with a stray lm_head.weight in the file: the head is skipped, logits match the fixture', async () => {
    const { loaded } = await loadHub('test/tiny-a-tied-head');
    expect(loaded.sink.tensors.has('lm_head.weight')).toBe(false);
    expectFixtureLogits(loaded.sink, 'tiny-a', 1e-3);
  });

  it('padded vocabulary: 50280 embedding rows with the 50277-token tokenizer', async () => {
    const { loaded } = await loadHub('test/padded', { tokenizer: true });
    expect(loaded.config.vocabSize).toBe(50280);
    expect(loaded.sink.tensors.get('backbone.embeddings.weight')!.length).toBe(50280 * 64);
    expect(loaded.tokenizer!.vocabSize).toBe(50277);
    expect(loaded.tokenizer!.encode('Hello, world!')).toEqual([12092, 13, 1533, 2]);
  });
});

describe('a folder on disk (the command line)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  function folder(files: Files): string {
    const d = mkdtempSync(join(tmpdir(), 'soup-model-'));
    dirs.push(d);
    for (const [n, b] of Object.entries(files)) writeFileSync(join(d, n), b);
    return d;
  }

  it('the tiny-a fixture folder streams from disk and matches the fixture within 1e-3', async () => {
    const made: RecordingSink[] = [];
    const loaded = await loadModelFromDir(loadFixture('tiny-a').dir, {
      createSink: sinkFactory(made),
      tokenizer: false,
    });
    expect(loaded.sink.finalized).toBe(true);
    expectFixtureLogits(loaded.sink, 'tiny-a', 1e-3);
  });

  it('a sharded BF16 folder with its tokenizer', async () => {
    const files = { ...sharded(paddedVocab(A), 2, 'BF16') };
    files['tokenizer.json'] = paddedVocab(A)['tokenizer.json']!;
    const made: RecordingSink[] = [];
    const loaded = await loadModelFromDir(folder(files), { createSink: sinkFactory(made) });
    expect(loaded.checkpointDtype).toBe('BF16');
    expect(loaded.tokenizer?.decode([12092, 13, 1533, 2])).toBe('Hello, world!');
    expect(loaded.files.filter((f) => f.file.endsWith('.safetensors')).length).toBe(2);
  });
});

describe('progress events are throttled', () => {
  it('with the default interval a fast load sends few weight events, the last one complete', async () => {
    const progress: LoadProgress[] = [];
    const made: RecordingSink[] = [];
    await loadModel(hubSource({ repo: 'test/tiny-b-sharded', hubUrl: hub.url }), {
      createSink: sinkFactory(made),
      tokenizer: false,
      onProgress: (p) => progress.push(p),
    });
    const weights = progress.filter((p) => p.phase === 'weights');
    const unthrottledChunks = Math.ceil(
      sharded(B, 3)['model-00001-of-00003.safetensors']!.byteLength / 65536,
    );
    // At least the forced last event per shard; fewer than one per chunk plus one per tensor.
    expect(weights.length).toBeGreaterThanOrEqual(3);
    expect(weights.length).toBeLessThan(unthrottledChunks * 3 + made[0]!.order.length);
    const last = weights[weights.length - 1]!;
    expect(last.tensorsDone).toBe(last.tensorsTotal);
    expect(last.fileIndex).toBe(2);
  });
});
