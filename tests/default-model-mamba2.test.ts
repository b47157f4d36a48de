/**
 * The bundled Mamba-2 (the manifest's soup-mamba2-4.5m) against what PyTorch computed on it:
 * tests/golden/default-model-mamba2.safetensors holds the logits of three short sequences from transformers'
 * Mamba2ForCausalLM (float32, CPU) on the shipped F16 weights (training/train.py --arch mamba2). The float64
 * Mamba-2 reference must reproduce them within 1e-3 relative (the fixtures' measure), and the golden tokens
 * must be what the app's tokenizer makes of the texts the file names. The folder has the default model's
 * tokenizer and no task suite of its own: the lesson, presets and studies read the default's on both families.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { familyOf } from '../src/model/family.ts';
import { parseMamba2ConfigText } from '../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { mamba2WeightsFromSource } from '../src/engine/mamba2Weights.ts';
import { mamba2Forward } from '../src/engine/reference/mamba2.ts';
import { relMaxDiff, safetensorsSource } from './helpers/fixtures.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = join(ROOT, 'public/models');
const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as {
  default: string;
  models: { id: string; folder: string; parameters: number }[];
};
const entry = manifest.models.find((m) => m.id === 'soup-mamba2-4.5m');
const dir = join(MODELS, entry?.folder ?? 'soup-mamba2-4.5m');
const defaultDir = join(MODELS, manifest.default);
const golden = new SafetensorsFile(
  new Uint8Array(readFileSync(join(ROOT, 'tests/golden/default-model-mamba2.safetensors'))),
  'default-model-mamba2.safetensors',
);
const note = JSON.parse(golden.metadata['note']!) as { sequences: string[]; texts: Record<string, string> };

describe('bundled Mamba-2: files', () => {
  it('is a Mamba-2 config with F16 tensors, a tied head, the count the manifest states', () => {
    expect(entry, 'manifest entry soup-mamba2-4.5m').toBeDefined();
    const config = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(familyOf(config)).toBe('mamba2');
    const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    let count = 0;
    for (const n of file.names) {
      expect(file.info(n).dtype, n).toBe('F16');
      count += file.info(n).shape.reduce((a, b) => a * b, 1);
    }
    expect(count).toBe(entry!.parameters);
    expect(file.has('lm_head.weight')).toBe(false);
  });

  it("ships the default model's tokenizer byte for byte (and reads the default's task suite)", () => {
    const f = 'tokenizer.json';
    expect(readFileSync(join(dir, f)).equals(readFileSync(join(defaultDir, f))), f).toBe(true);
    expect(existsSync(join(dir, 'tasks.json'))).toBe(false);
    expect(existsSync(join(defaultDir, 'tasks.json'))).toBe(true);
  });
});

describe('bundled Mamba-2: logits against transformers', () => {
  it('the golden file holds Mamba2ForCausalLM logits of three sequences, tokenized as the app does', () => {
    expect(golden.metadata['source']).toContain('Mamba2ForCausalLM');
    expect(note.sequences.length).toBe(3);
    const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    for (const seq of note.sequences) {
      expect([...golden.int32(`${seq}.tokens`)], seq).toEqual(tok.encode(note.texts[seq]!));
    }
  });

  it('the float64 Mamba-2 reference reproduces them within 1e-3', () => {
    const config = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'));
    const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    const weights = mamba2WeightsFromSource(config, safetensorsSource(file));
    for (const seq of note.sequences) {
      const { logits } = mamba2Forward(weights, golden.int32(`${seq}.tokens`));
      expect(relMaxDiff(logits, golden.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
    }
  });
});
