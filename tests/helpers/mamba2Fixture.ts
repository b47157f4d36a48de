/** The Mamba-2 fixtures (tests/fixtures/m2-tiny-*, transformers 5.17 in float64) read for tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMamba2ConfigText } from '../../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../../src/model/safetensors.ts';
import { mamba2WeightsFromSource, type Mamba2Weights } from '../../src/engine/mamba2Weights.ts';
import { FIXTURES_DIR, safetensorsSource } from './fixtures.ts';

export type Mamba2FixtureName = 'm2-tiny-a' | 'm2-tiny-b' | 'm2-tiny-c' | 'm2-tiny-d' | 'm2-tiny-e';

export interface Mamba2Fixture {
  weights: Mamba2Weights;
  expected: SafetensorsFile;
  /** Sequence names in the order of the header's note.sequences. */
  sequences: string[];
}

const cache = new Map<Mamba2FixtureName, Mamba2Fixture>();

export function loadMamba2Fixture(name: Mamba2FixtureName = 'm2-tiny-a'): Mamba2Fixture {
  const hit = cache.get(name);
  if (hit) return hit;
  const dir = join(FIXTURES_DIR, name);
  const config = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'));
  const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const expected = new SafetensorsFile(
    new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))),
    'expected.safetensors',
  );
  const note = JSON.parse(expected.metadata['note'] ?? '{}') as { sequences?: string[] };
  const fixture = {
    weights: mamba2WeightsFromSource(config, safetensorsSource(model)),
    expected,
    sequences: note.sequences ?? [],
  };
  cache.set(name, fixture);
  return fixture;
}
