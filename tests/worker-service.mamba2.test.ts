/**
 * The engine worker's service on the bundled Mamba-2 (public/models/soup-mamba2-4.5m), run for real in Node on
 * Dawn's adapter through the same EngineService and RequestDispatcher the Worker uses, served over HTTP as the
 * app serves it: the load names the family and tags states with the weights hash `soup` computes; a stored
 * state continues as reading its text first does; a mix of one state at weight 1 is that state and at 0 the
 * zero state; A-decay and generation run from stored states; a state file goes out and back bit for bit, and
 * a Mamba-1 state file is refused in one line that names both families, leaving the library as it was.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeightsHasher } from '../src/engine/states/hash.ts';
import type { MambaConfig } from '../src/model/config.ts';
import { parseMamba2ConfigText } from '../src/model/mamba2Config.ts';
import { loadTokenizerFromDir } from '../src/model/node.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import type { MambaTokenizer } from '../src/model/tokenizer.ts';
import type { MixRecipe, ModelSource } from '../src/worker/protocol.ts';
import { serveBundledModel, type HubServer } from './helpers/hub-server.ts';
import { MemoryStore, serviceHost, type Body } from './helpers/service-host.ts';

const FOLDER = 'soup-mamba2-4.5m';
const DIR = join(import.meta.dirname, '../public/models', FOLDER);

/** The hash `soup` gives this folder (src/cli/model-dir.ts), from the file's tensors. */
function hashOfFolder(): string {
  const config = parseMamba2ConfigText(readFileSync(join(DIR, 'config.json'), 'utf8'));
  const file = new SafetensorsFile(new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))));
  const h = new WeightsHasher(config as unknown as MambaConfig);
  for (const name of file.names) h.add(name, file.float32(name));
  return h.digest();
}

const A = 'hot->cold\nbig->small\n';
const B = 'up->down\nwet->dry\n';
const mixOf = (
  sources: { key: string; weight: number }[],
  mode: MixRecipe['mode'] = 'weighted',
): MixRecipe => ({
  sources,
  mode,
  normalize: false,
  parts: { ssm: true, conv: true },
  profile: 'uniform',
});
const greedy = { temperature: 0, topK: 0, topP: 1, seed: 1, maxNewTokens: 4 };

let server: HubServer;
let source: Extract<ModelSource, { kind: 'bundled' }>;
let tokenizer: MambaTokenizer;
beforeAll(async () => {
  ({ server, source } = await serveBundledModel(DIR, FOLDER));
  tokenizer = await loadTokenizerFromDir(DIR);
});
afterAll(async () => {
  await server?.close();
});

describe('the engine service on the bundled Mamba-2', () => {
  const store = new MemoryStore();
  const h = serviceHost(async () => store);
  afterAll(() => {
    h.service.dispose();
    expect(h.fatal).toEqual([]);
  });

  it('loads it, naming the family, with the weights hash of its file', async () => {
    const loaded = await h.final('loaded', { type: 'load', source, precision: 'auto' });
    expect(loaded.info).toMatchObject({
      id: FOLDER,
      family: 'mamba2',
      layers: 8,
      dModel: 256,
      tokenizer: 'bpe',
    });
    expect(loaded.info.weightsHash).toBe(hashOfFolder());
    // Per layer: ssm 8 heads × 64 × 64, conv (512 + 2·64) × 3, Σ Δ per head; f32.
    expect(loaded.info.stateBytes).toBe(8 * (8 * 64 * 64 + 640 * 3 + 8) * 4);
  });

  it('a stored state continues as reading its text first does', async () => {
    const r = await h.final('captured', { type: 'capture', key: 'a', name: 'A', text: A });
    expect(r.tokenCount).toBe(tokenizer.encode(A).length);
    await h.final('captured', { type: 'capture', key: 'b', name: 'B', text: B });
    const n = tokenizer.encode(B).length;
    expect(tokenizer.encode(A + B)).toEqual([...tokenizer.encode(A), ...tokenizer.encode(B)]);
    const fromZero = await h.final('scored', { type: 'score', start: { kind: 'zero' }, text: A + B });
    const fromA = await h.final('scored', { type: 'score', start: { kind: 'stored', key: 'a' }, text: B });
    expect(fromA.nll).toHaveLength(n - 1);
    const tail = fromZero.nll.slice(-(n - 1));
    for (let i = 0; i < n - 1; i++) expect(fromA.nll[i]).toBeCloseTo(tail[i]!, 3);
  });

  it('mixes on the GPU: weight 1 is the state, weight 0 the zero state; A-decay runs and differs from both', async () => {
    const score = (b: Body) => h.final('scored', b);
    const stored = await score({ type: 'score', start: { kind: 'stored', key: 'a' }, text: B });
    const zero = await score({ type: 'score', start: { kind: 'zero' }, text: B });
    const one = await score({
      type: 'score',
      start: { kind: 'mix', recipe: mixOf([{ key: 'a', weight: 1 }]) },
      text: B,
    });
    const none = await score({
      type: 'score',
      start: { kind: 'mix', recipe: mixOf([{ key: 'a', weight: 0 }]) },
      text: B,
    });
    expect(one.nll).toEqual(stored.nll);
    for (let i = 0; i < zero.nll.length; i++) expect(none.nll[i]).toBeCloseTo(zero.nll[i]!, 4);
    const adecay = await score({
      type: 'score',
      start: {
        kind: 'mix',
        recipe: mixOf(
          [
            { key: 'a', weight: 0.5 },
            { key: 'b', weight: 0.5 },
          ],
          'adecay',
        ),
      },
      text: B,
    });
    expect(adecay.nll.every(Number.isFinite)).toBe(true);
    expect(adecay.nll).not.toEqual(stored.nll);
    expect(adecay.nll).not.toEqual(zero.nll);
  });

  it('generates greedily from a stored state as from its text', async () => {
    const body = { type: 'generate', query: 'fast->', sampling: greedy } as const;
    const fromState = await h.final('generated', { ...body, start: { kind: 'stored', key: 'a' } });
    const fromText = await h.final('generated', { ...body, start: { kind: 'text', text: A } });
    expect(fromState.tokens.length).toBeGreaterThan(0);
    expect(fromState.tokens.map((t) => t.id)).toEqual(fromText.tokens.map((t) => t.id));
  });

  it('exports a state file that imports back bit for bit; a Mamba-1 file is refused and nothing is added', async () => {
    const out = await h.final('exported', { type: 'export', keys: ['a'] });
    const imp = await h.final('imported', {
      type: 'importFile',
      bytes: out.bytes.slice().buffer,
      fileName: out.fileName,
    });
    expect(imp.states).toHaveLength(1);
    const copy = imp.states[0]!;
    expect(store.saved.get(copy.key)!.state).toEqual(store.saved.get('a')!.state);
    const before = [...store.saved.keys()];
    const v1 = readFileSync(join(import.meta.dirname, 'fixtures/states/v1-mamba1.state.safetensors'));
    const e = await h.failure({
      type: 'importFile',
      bytes: v1.buffer.slice(v1.byteOffset, v1.byteOffset + v1.byteLength),
      fileName: 'old.safetensors',
    });
    expect(e.message).toMatch(/old\.safetensors holds Mamba-1 states .*the loaded model is Mamba-2/);
    expect([...store.saved.keys()]).toEqual(before);
  });
});
