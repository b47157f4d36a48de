/** The model: what is loaded (the bundled default on start), progress, precision, a memory estimate, other sources. */
import { useState } from 'react';
import { useModelStore } from '../../stores/model.ts';
import type { Precision } from '../../worker/protocol.ts';
import { bundledSource, loadDefaultModel, loadModel } from './engine.ts';

function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

function parameterCount(p: string | number | undefined): number | undefined {
  if (typeof p === 'number') return p;
  if (!p) return undefined;
  const m = /^([\d.]+)\s*([kmb])?/i.exec(p.trim());
  if (!m) return undefined;
  const scale = { k: 1e3, m: 1e6, b: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'b'] ?? 1;
  return Number(m[1]) * scale;
}

export function ModelPanel() {
  const m = useModelStore();
  const [files, setFiles] = useState<File[]>([]);
  const statusText =
    m.status === 'ready'
      ? 'Model ready'
      : m.status === 'loading'
        ? `Loading model… ${m.progress?.phase ?? ''}`
        : m.status === 'error'
          ? 'Model not loaded'
          : m.status === 'lost'
            ? 'GPU device lost'
            : 'No model loaded';
  const params = parameterCount(m.entry?.parameters);
  const bytesPer = m.precision === 'f16' ? 2 : 4;

  return (
    <section className="panel model-panel" aria-labelledby="model-title">
      <h2 id="model-title">Model</h2>
      <p className={`model-status model-status-${m.status}`} role="status">
        {statusText}
      </p>
      {m.status === 'loading' && m.progress && (
        <progress
          aria-label="Model loading progress"
          value={m.progress.total > 0 ? m.progress.done : undefined}
          max={Math.max(1, m.progress.total)}
        />
      )}
      {m.info && (
        <dl className="model-info">
          <dt>Model</dt>
          <dd>
            {m.info.id}
            {m.info.description && <span className="hint"> — {m.info.description}</span>}
          </dd>
          <dt>Shape</dt>
          <dd>
            {m.info.layers} layers × d_model {m.info.dModel}, d_state {m.info.dState}, vocab {m.info.vocab}
          </dd>
          <dt>Engine</dt>
          <dd>
            {m.info.engine === 'webgpu'
              ? `WebGPU (${m.info.precision} weights)`
              : 'CPU reference (float64, slow)'}{' '}
            on {m.info.adapter}
          </dd>
          <dt>Tokenizer</dt>
          <dd>
            {m.info.tokenizer === 'bpe'
              ? 'GPT-NeoX BPE'
              : 'bytes (this model has no tokenizer.json: ids are UTF-8 bytes)'}
          </dd>
          <dt>One state</dt>
          <dd>{bytes(m.info.stateBytes)}</dd>
        </dl>
      )}
      {m.error && (
        <p className="error-text" role="alert">
          {m.error}
        </p>
      )}
      <details className="model-choose">
        <summary>Choose another model</summary>
        <label>
          Precision{' '}
          <select value={m.precision} onChange={(e) => m.set({ precision: e.target.value as Precision })}>
            <option value="f16">f16 weights (half the memory)</option>
            <option value="f32">f32 weights (exact)</option>
          </select>
        </label>
        {params !== undefined && (
          <p className="hint">
            Memory estimate for {m.entry?.id}: about {bytes(params * bytesPer)} of GPU memory for the weights.
          </p>
        )}
        {m.manifest && (
          <div className="row">
            {m.manifest.models.map((e) => (
              <button
                key={e.id}
                type="button"
                disabled={m.status === 'loading'}
                onClick={() => void loadModel(bundledSource(e), e)}
              >
                Load bundled {e.id}
              </button>
            ))}
          </div>
        )}
        {!m.manifest && (
          <button type="button" disabled={m.status === 'loading'} onClick={() => void loadDefaultModel()}>
            Retry the bundled model
          </button>
        )}
        <div className="row">
          <label>
            Local model files (config.json, model.safetensors, tokenizer.json){' '}
            <input
              type="file"
              multiple
              accept=".json,.safetensors"
              aria-label="Local model files"
              onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
            />
          </label>{' '}
          <button
            type="button"
            disabled={files.length === 0 || m.status === 'loading'}
            onClick={() => void loadModel({ kind: 'files', files })}
          >
            Load local files
          </button>
        </div>
        <p className="hint">
          Hugging Face hub models: not in this build yet (the hub loader is being written); download the files
          and load them as local files.
        </p>
      </details>
    </section>
  );
}
