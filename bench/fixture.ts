/**
 * A Mamba-1 transformers fixture folder (tests/fixtures/<name>) as the GPU-machine check scripts read it
 * (check-fixtures, check-f16): its config, host weights, expected outputs, and the sequences in the order of
 * the header's note (the tokens' names where the note has none).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { weightsFromSource } from '../src/engine/weights.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';

export function loadMamba1Fixture(dir: string) {
  const name = dir.split('/').pop()!;
  const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const want = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))), name);
  const weights = weightsFromSource(config, {
    has: (n) => model.has(n),
    shape: (n) => model.info(n).shape,
    float32: (n) => model.float32(n),
  });
  const note = JSON.parse(want.metadata['note'] ?? '{}') as { sequences?: string[] };
  const seqs = note.sequences ?? want.names.filter((n) => n.endsWith('.tokens')).map((n) => n.slice(0, -7));
  return { name, config, weights, want, seqs };
}
