/**
 * The weights hashes of a Mamba-1 model folder, computed here from its safetensors file: the "w2-" digest states
 * are tagged with, and the retired "s1-" fingerprint older versions saved states under. The worker-service
 * test and the migration e2e spec check the app's tags against these.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WeightsHasher } from '../../src/engine/states/hash.ts';
import { expectedTensorShapes, parseMambaConfig } from '../../src/model/config.ts';
import { SafetensorsFile } from '../../src/model/safetensors.ts';
import { LegacyS1Fingerprint } from '../../src/worker/legacy-s1.ts';

export function hashesOfModelDir(dir: string): { w2: string; s1: string } {
  const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const w2 = new WeightsHasher(config);
  const s1 = new LegacyS1Fingerprint(JSON.stringify(config));
  for (const name of expectedTensorShapes(config).keys()) {
    const t = file.float32(name);
    w2.add(name, t);
    s1.add(name, t);
  }
  return { w2: w2.digest(), s1: s1.hex() };
}
