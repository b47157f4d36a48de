/** The Mamba-2 fixture (tests/fixtures/m2-tiny-a, transformers 5.17 in float64) read for tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMamba2ConfigText } from '../../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../../src/model/safetensors.ts';
import { mamba2WeightsFromSource, type Mamba2Weights } from '../../src/engine/mamba2Weights.ts';
import { FIXTURES_DIR, safetensorsSource } from './fixtures.ts';

export interface Mamba2Fixture {
  weights: Mamba2Weights;
  expected: SafetensorsFile;
}

let cached: Mamba2Fixture | undefined;

export function loadMamba2Fixture(): Mamba2Fixture {
  if (cached) return cached;
  const dir = join(FIXTURES_DIR, 'm2-tiny-a');
  const config = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'));
  const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const expected = new SafetensorsFile(
    new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))),
    'expected.safetensors',
  );
  cached = { weights: mamba2WeightsFromSource(config, safetensorsSource(model)), expected };
  return cached;
}
