/**
 * Checkpoint variants built on the fly from the tiny fixtures (never committed): the same weights stored as
 * F16 or BF16, split into shards with an index, with an untied lm_head, with a padded vocabulary, or broken in
 * one specific way. Each returns the files of a model folder as bytes, ready for the hub server or a temp dir.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from './fixtures.ts';
import {
  SafetensorsFile,
  f32ToBf16,
  f32ToF16,
  writeSafetensors,
  type TensorToWrite,
} from '../../src/model/safetensors.ts';

export type Files = Record<string, Uint8Array>;

export function fixtureFiles(name: 'tiny-a' | 'tiny-b' | 'm2-tiny-a' | 'm2-tiny-b' | 'm2-tiny-c'): Files {
  const dir = join(FIXTURES_DIR, name);
  return {
    'config.json': new Uint8Array(readFileSync(join(dir, 'config.json'))),
    'model.safetensors': new Uint8Array(readFileSync(join(dir, 'model.safetensors'))),
  };
}

export function tokenizerBytes(): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES_DIR, 'gpt-neox-tokenizer', 'tokenizer.json')));
}

export function readConfig(files: Files): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(files['config.json'])) as Record<string, unknown>;
}

export function withConfig(files: Files, patch: Record<string, unknown>): Files {
  const cfg = { ...readConfig(files), ...patch };
  return { ...files, 'config.json': new TextEncoder().encode(JSON.stringify(cfg, null, 2)) };
}

/** The fixture's tensors as f32, in file order. */
export function tensorsOf(
  files: Files,
  file = 'model.safetensors',
): Map<string, { shape: number[]; data: Float32Array }> {
  const st = new SafetensorsFile(files[file]!, file);
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const n of st.names) m.set(n, { shape: st.info(n).shape, data: st.float32(n) });
  return m;
}

export function encodeTensors(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  dtype: 'F32' | 'F16' | 'BF16',
): Uint8Array {
  const out: Record<string, TensorToWrite> = {};
  for (const [n, t] of tensors) {
    if (dtype === 'F32') out[n] = { dtype, shape: t.shape, data: t.data };
    else {
      const round = dtype === 'F16' ? f32ToF16 : f32ToBf16;
      out[n] = { dtype, shape: t.shape, data: Uint16Array.from(t.data, (v) => round(v)) };
    }
  }
  return writeSafetensors(out, { format: 'pt' });
}

/** The same model with its weights stored in another dtype. */
export function asDtype(files: Files, dtype: 'F32' | 'F16' | 'BF16'): Files {
  return { ...files, 'model.safetensors': encodeTensors(tensorsOf(files), dtype) };
}

/** The model split into `n` shards (tensors dealt round-robin) with a model.safetensors.index.json. */
export function sharded(files: Files, n: number, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): Files {
  const tensors = [...tensorsOf(files)];
  const out: Files = { 'config.json': files['config.json']! };
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let s = 0; s < n; s++) {
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const part = new Map(tensors.filter((_, i) => i % n === s));
    for (const [k, t] of part) {
      weightMap[k] = name;
      total += t.data.length * (dtype === 'F32' ? 4 : 2);
    }
    out[name] = encodeTensors(part, dtype);
  }
  out['model.safetensors.index.json'] = new TextEncoder().encode(
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }),
  );
  return out;
}

/** A deterministic pseudo-random matrix (a different head than the embedding). */
export function pseudoRandom(n: number, seed: number, scale = 0.1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** An untied model: config says tie_word_embeddings false and the file carries its own lm_head.weight. */
export function untied(files: Files): Files {
  const t = tensorsOf(files);
  const emb = t.get('backbone.embeddings.weight')!;
  t.set('lm_head.weight', { shape: emb.shape, data: pseudoRandom(emb.data.length, 7) });
  return withConfig(
    { ...files, 'model.safetensors': encodeTensors(t, 'F32') },
    { tie_word_embeddings: false },
  );
}

/** A tied model whose file still ships an lm_head.weight (some exports do): it must be ignored. */
export function tiedWithHead(files: Files): Files {
  const t = tensorsOf(files);
  const emb = t.get('backbone.embeddings.weight')!;
  t.set('lm_head.weight', { shape: emb.shape, data: pseudoRandom(emb.data.length, 9) });
  return { ...files, 'model.safetensors': encodeTensors(t, 'F32') };
}

/**
 * The real checkpoints' padded vocabulary: embedding of 50280 rows (the fixture's rows first, the rest small
 * pseudo-random values) with the 50277-token GPT-NeoX tokenizer.
 */
export function paddedVocab(files: Files): Files {
  const t = tensorsOf(files);
  const emb = t.get('backbone.embeddings.weight')!;
  const dm = emb.shape[1]!;
  const data = pseudoRandom(50280 * dm, 11, 0.02);
  data.set(emb.data);
  t.set('backbone.embeddings.weight', { shape: [50280, dm], data });
  return withConfig(
    { ...files, 'model.safetensors': encodeTensors(t, 'F32'), 'tokenizer.json': tokenizerBytes() },
    { vocab_size: 50280 },
  );
}

/** Rewrites the file with one tensor dropped, reshaped or stored in another dtype. */
export function broken(
  files: Files,
  tensor: string,
  how: 'missing' | 'wrong-shape' | 'int32' | 'f64',
): Files {
  const t = tensorsOf(files);
  const out: Record<string, TensorToWrite> = {};
  for (const [n, v] of t) {
    if (n !== tensor) {
      out[n] = { dtype: 'F32', shape: v.shape, data: v.data };
    } else if (how === 'wrong-shape') {
      out[n] = { dtype: 'F32', shape: [v.data.length], data: v.data };
    } else if (how === 'int32') {
      out[n] = { dtype: 'I32', shape: v.shape, data: Int32Array.from(v.data, (x) => Math.round(x)) };
    }
  }
  let bytes = writeSafetensors(out);
  if (how === 'f64') {
    // writeSafetensors has no F64; store the values as F32 then relabel the header entry (8 bytes per value).
    const v = t.get(tensor)!;
    const f64 = new Float64Array(v.data);
    const header: Record<string, unknown> = {};
    let off = 0;
    const parts: Uint8Array[] = [];
    for (const [n, x] of t) {
      const raw = n === tensor ? new Uint8Array(f64.buffer) : new Uint8Array(x.data.buffer.slice(0));
      header[n] = {
        dtype: n === tensor ? 'F64' : 'F32',
        shape: x.shape,
        data_offsets: [off, off + raw.byteLength],
      };
      off += raw.byteLength;
      parts.push(raw);
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    bytes = new Uint8Array(8 + json.byteLength + off);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.byteLength), true);
    bytes.set(json, 8);
    let at = 8 + json.byteLength;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
  }
  return { ...files, 'model.safetensors': bytes };
}
