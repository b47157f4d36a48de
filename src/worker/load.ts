/**
 * Fetching a model folder (config.json, model.safetensors, optional tokenizer.json) into host weights, with
 * download progress. Local files take the same path from File objects. This is the worker's own simple path
 * (whole-file reads, fine for the small bundled model); hub downloads and the cache live in src/model.
 */
import { parseMambaConfig, type MambaConfig } from '../model/config.ts';
import { SafetensorsFile } from '../model/safetensors.ts';
import { weightsFromSource, type MambaWeights } from '../engine/weights.ts';
import type { ModelSource } from './protocol.ts';

export interface LoadedFiles {
  id: string;
  config: MambaConfig;
  weights: MambaWeights;
  tokenizerJson?: object;
}

type Progress = (phase: string, done: number, total: number) => void;

async function fetchBytes(url: string, phase: string, progress: Progress, signal: AbortSignal) {
  const res = await fetch(url, { signal });
  if (!res.ok)
    throw new Error(`Could not download ${url} (HTTP ${res.status}). Check the address and retry.`);
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let done = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    chunks.push(r.value);
    done += r.value.byteLength;
    progress(phase, done, total || done);
  }
  const out = new Uint8Array(done);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function toWeights(config: MambaConfig, bytes: Uint8Array): MambaWeights {
  const file = new SafetensorsFile(bytes);
  return weightsFromSource(config, {
    has: (n) => file.has(n),
    shape: (n) => file.info(n).shape,
    float32: (n) => file.float32(n),
  });
}

export async function loadModelFiles(
  source: ModelSource,
  progress: Progress,
  signal: AbortSignal,
): Promise<LoadedFiles> {
  if (source.kind === 'url') {
    const base = source.baseUrl.replace(/\/$/, '');
    const configRes = await fetch(`${base}/config.json`, { signal });
    if (!configRes.ok) throw new Error(`No config.json at ${base} (HTTP ${configRes.status}).`);
    const config = parseMambaConfig(await configRes.json());
    const tokRes = await fetch(`${base}/tokenizer.json`, { signal });
    const tokenizerJson =
      tokRes.ok && (tokRes.headers.get('content-type') ?? '').includes('json')
        ? ((await tokRes.json()) as object)
        : undefined;
    const bytes = await fetchBytes(`${base}/model.safetensors`, 'Downloading weights', progress, signal);
    progress('Reading weights', 0, 1);
    return { id: source.id, config, weights: toWeights(config, bytes), tokenizerJson };
  }
  if (source.kind === 'files') {
    const byName = new Map(source.files.map((f) => [f.name, f]));
    const cfg = byName.get('config.json');
    const st = byName.get('model.safetensors');
    if (!cfg || !st) {
      throw new Error(
        'Choose at least config.json and model.safetensors (and tokenizer.json if there is one).',
      );
    }
    const config = parseMambaConfig(JSON.parse(await cfg.text()));
    const tok = byName.get('tokenizer.json');
    const tokenizerJson = tok ? (JSON.parse(await tok.text()) as object) : undefined;
    progress('Reading weights', 0, st.size);
    const bytes = new Uint8Array(await st.arrayBuffer());
    progress('Reading weights', st.size, st.size);
    return {
      id: st.name === 'model.safetensors' ? 'local files' : st.name,
      config,
      weights: toWeights(config, bytes),
      tokenizerJson,
    };
  }
  throw new Error(
    `Loading ${source.repo} from the Hugging Face hub is not available in this build yet; download its files and choose them as local files.`,
  );
}
