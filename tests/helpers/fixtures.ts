/** Access to tests/fixtures (golden outputs of transformers, committed with the tests) from tests. */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMambaConfig } from '../../src/model/config.ts';
import { SafetensorsFile } from '../../src/model/safetensors.ts';
import { weightsFromSource, type MambaWeights } from '../../src/engine/weights.ts';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures');

export interface Fixture {
  name: string;
  dir: string;
  weights: MambaWeights;
  expected: SafetensorsFile;
  /** Sequence names in the order of the header's note.sequences. */
  sequences: string[];
}

export function safetensorsSource(file: SafetensorsFile) {
  return {
    has: (n: string) => file.has(n),
    shape: (n: string) => file.info(n).shape,
    float32: (n: string) => file.float32(n),
  };
}

export function loadFixture(name: 'tiny-a' | 'tiny-b'): Fixture {
  const dir = join(FIXTURES_DIR, name);
  const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const expected = new SafetensorsFile(
    new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))),
    'expected.safetensors',
  );
  const sequences = expected.names
    .filter((n) => n.endsWith('.tokens'))
    .map((n) => n.slice(0, -'.tokens'.length));
  const note = expected.metadata['note'];
  let ordered = sequences;
  if (note) {
    try {
      const parsed = JSON.parse(note) as { sequences?: string[] };
      if (Array.isArray(parsed.sequences)) ordered = parsed.sequences;
    } catch {
      /* the note is free text in some fixtures; fall back to header order */
    }
  }
  return {
    name,
    dir,
    weights: weightsFromSource(config, safetensorsSource(model)),
    expected,
    sequences: ordered,
  };
}

/** max |a - b| / max(1, max |b|): the fixtures' tolerance measure. */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
