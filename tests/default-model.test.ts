/**
 * The bundled default model (public/models/<default>/) against what PyTorch computed on it:
 * - tests/golden/default-model.safetensors: logits of three short sequences from transformers'
 *   MambaForCausalLM (float32, CPU) on the shipped F16 weights (training/train.py, verify_and_golden);
 * - tests/golden/default-model-tokenizer.json: ids the Python `tokenizers` library gave for a few strings.
 * The CPU reference and, on Dawn, the WebGPU engine must reproduce the logits within 1e-3 relative (the
 * fixtures' measure); the app's tokenizer must give Python's ids. The manifest, config and task suite are
 * checked for the shape the app and the command line rely on.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMambaConfig } from '../src/model/config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { weightsFromSource, type MambaWeights } from '../src/engine/weights.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { relMaxDiff, safetensorsSource } from './helpers/fixtures.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = join(ROOT, 'public/models');

interface ManifestEntry {
  id: string;
  folder: string;
  description: string;
  parameters: number;
  license: string;
}
interface Task {
  name: string;
  kind: 'rule' | 'knowledge';
  description: string;
  train: [string, string][];
  heldout: [string, string][];
}

const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as {
  default: string;
  models: ManifestEntry[];
};
const entry = manifest.models.find((m) => m.id === manifest.default || m.folder === manifest.default);
const dir = join(MODELS, entry?.folder ?? manifest.default);
const golden = new SafetensorsFile(
  new Uint8Array(readFileSync(join(ROOT, 'tests/golden/default-model.safetensors'))),
  'default-model.safetensors',
);
const sequences = (JSON.parse(golden.metadata['note']!) as { sequences: string[] }).sequences;

let weightsCache: MambaWeights | undefined;
function weights(): MambaWeights {
  if (!weightsCache) {
    const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    weightsCache = weightsFromSource(config, safetensorsSource(file));
  }
  return weightsCache;
}

describe('default model: manifest, files and task suite', () => {
  it('the manifest names an existing default folder with the required fields', () => {
    expect(entry, `manifest entry for ${manifest.default}`).toBeDefined();
    for (const key of ['id', 'folder', 'description', 'parameters', 'license'] as const) {
      expect(entry![key], key).toBeTruthy();
    }
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tasks.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
  });

  it('is a Mamba-1 config whose F16 tensors hold the parameter count the manifest states, under 24 MB', () => {
    const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    let count = 0;
    for (const n of file.names) {
      expect(file.info(n).dtype, n).toBe('F16');
      count += file.info(n).shape.reduce((a, b) => a * b, 1);
    }
    expect(count).toBe(entry!.parameters);
    expect(file.has('lm_head.weight')).toBe(false); // tied to the embedding
    expect(statSync(join(dir, 'model.safetensors')).size).toBeLessThan(24e6);
    const cfg = weights().config;
    expect(cfg.vocabSize).toBeLessThanOrEqual(8192);
  });

  it('ships at least the five named tasks, each with train and held-out pairs', () => {
    const suite = JSON.parse(readFileSync(join(dir, 'tasks.json'), 'utf8')) as { tasks: Task[] };
    const names = suite.tasks.map((t) => t.name);
    for (const n of ['antonym', 'uppercase', 'capital', 'plural', 'past']) expect(names).toContain(n);
    for (const t of suite.tasks) {
      expect(t.description.length, t.name).toBeGreaterThan(0);
      expect(t.train.length, t.name).toBeGreaterThan(10);
      expect(t.heldout.length, t.name).toBeGreaterThan(10);
    }
    // Rule tasks: no held-out word is the input of any rule task in training (case-insensitively).
    const rule = suite.tasks.filter((t) => t.kind === 'rule');
    const trained = new Set(rule.flatMap((t) => t.train.map(([i]) => i.toLowerCase())));
    for (const t of rule) {
      const leaked = t.heldout.filter(([i]) => trained.has(i.toLowerCase()));
      expect(leaked, t.name).toEqual([]);
    }
    // Many query words belong to several tasks, so the answer depends on the examples.
    const inputs = new Map<string, Set<string>>();
    for (const t of suite.tasks) {
      for (const [i] of [...t.train, ...t.heldout]) {
        const k = i.toLowerCase();
        if (!inputs.has(k)) inputs.set(k, new Set());
        inputs.get(k)!.add(t.name);
      }
    }
    const shared = [...inputs.values()].filter((s) => s.size >= 3).length;
    expect(shared).toBeGreaterThan(1000);
  });
});

describe('default model: tokenizer', () => {
  it("the app's tokenizer gives the ids Python's tokenizers gave", () => {
    const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const cases = JSON.parse(
      readFileSync(join(ROOT, 'tests/golden/default-model-tokenizer.json'), 'utf8'),
    ) as {
      text: string;
      ids: number[];
    }[];
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const c of cases) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.text);
    }
  });
});

describe('default model: logits against transformers', () => {
  it('the golden file holds transformers logits for three sequences', () => {
    expect(golden.metadata['source']).toContain('transformers');
    expect(sequences.length).toBe(3);
  });

  it('the CPU reference reproduces them within 1e-3', () => {
    const w = weights();
    for (const seq of sequences) {
      const tokens = golden.int32(`${seq}.tokens`);
      const { logits } = referenceForward(w, tokens);
      expect(relMaxDiff(logits, golden.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
    }
  });
});
