/**
 * The model: what is loaded (the bundled default on start), progress, precision, a memory estimate, and the
 * other sources: the bundled list, a hub model (the known 130m–2.8b or any repo id) and local files.
 */
import { useState } from 'react';
import { KNOWN_MODELS } from '../../model/hub.ts';
import { formatBytes } from '../../model/progress.ts';
import { useShallow } from 'zustand/react/shallow';
import { choosePrecision, selectModelView, useModelStore } from '../../stores/model.ts';
import type { WeightDtype } from '../../engine/api.ts';
import type { PrecisionChoice } from '../../model/loader.ts';
import { bundledLabel, type BundledManifest, type BundledModel } from '../../model/sources.ts';
import { loadBundledModel, loadDefaultModel, loadModel } from './engine.ts';
import { useShown } from '../present/view.ts';

/** A hub mirror can be given as ?hub=URL (tests use a local server; mirrors work the same way). */
function hubUrl(): string | undefined {
  return new URLSearchParams(window.location.search).get('hub') ?? undefined;
}

const isDefault = (e: BundledModel, m: BundledManifest) => e.id === m.default || e.folder === m.default;

export function ModelPanel() {
  const m = useModelStore(useShallow(selectModelView));
  const [files, setFiles] = useState<File[]>([]);
  const showSources = useShown('sources');
  const [repo, setRepo] = useState(KNOWN_MODELS[0]!.repo);
  const known = KNOWN_MODELS.find((k) => k.repo === repo.trim());
  const precisionFor = (p: PrecisionChoice): WeightDtype => (p === 'auto' ? 'f16' : p);
  const busy = m.status === 'loading';
  const pct =
    m.progress && m.progress.total > 0 ? Math.round((100 * m.progress.done) / m.progress.total) : undefined;

  return (
    <section className="panel model-panel" aria-labelledby="model-title">
      <h2 id="model-title">Model</h2>
      {busy && m.progress && (
        <>
          <progress
            aria-label="Model loading progress"
            value={m.progress.total > 0 ? m.progress.done : undefined}
            max={Math.max(1, m.progress.total)}
          />
          <span className="hint">
            {m.progress.total > 0 &&
              `${formatBytes(m.progress.done)} of ${formatBytes(m.progress.total)} (${pct} %)`}
          </span>
        </>
      )}
      {m.info && (
        <dl className="model-info">
          <dt>Model</dt>
          <dd>
            {m.info.id}
            {m.entry?.id === m.info.id && ` (${bundledLabel(m.entry)})`}
            {m.info.description && <span className="hint"> — {m.info.description}</span>}
          </dd>
          <dt>Shape</dt>
          <dd>
            {m.info.family === 'mamba2' ? 'Mamba-2: ' : ''}
            {m.info.layers} layers × d_model {m.info.dModel}, d_state {m.info.dState}, vocab {m.info.vocab}
          </dd>
          <dt>Engine</dt>
          <dd>
            WebGPU, {m.info.precision} weights, on {m.info.adapter}
          </dd>
          <dt>GPU memory</dt>
          <dd>about {formatBytes(m.info.memoryBytes)}</dd>
          <dt>Tokenizer</dt>
          <dd>
            {m.info.tokenizer === 'bpe'
              ? 'byte-level BPE (tokenizer.json)'
              : 'none in this checkpoint: token ids are the text’s UTF-8 bytes'}
          </dd>
          <dt>One state</dt>
          <dd>{formatBytes(m.info.stateBytes)}</dd>
        </dl>
      )}
      {m.info?.warnings.map((w) => (
        <p key={w} className="error-text" role="alert">
          {w}
        </p>
      ))}
      {m.error && (
        <p className="error-text" role="alert">
          {m.error}
        </p>
      )}
      {showSources && (
        <details className="model-choose">
          <summary>Choose another model</summary>
          <label>
            Precision{' '}
            <select value={m.precision} onChange={(e) => choosePrecision(e.target.value as PrecisionChoice)}>
              <option value="auto">automatic (f16 for 130m and larger)</option>
              <option value="f16">f16 weights (half the memory)</option>
              <option value="f32">f32 weights (exact)</option>
              <option value="int8">int8 weights (a quarter of f32; perplexity changes slightly)</option>
            </select>
          </label>
          {m.manifest && (
            <ul className="row bundled-models" aria-label="Bundled models">
              {m.manifest.models.map((e) => (
                <li key={e.id}>
                  <button type="button" disabled={busy} onClick={() => void loadBundledModel(e, m.manifest!)}>
                    Load {e.name ?? e.id} ({bundledLabel(e)})
                  </button>
                  {isDefault(e, m.manifest!) && <span className="hint"> default</span>}
                  {m.entry?.id === e.id && m.status === 'ready' && <span className="hint"> loaded</span>}
                </li>
              ))}
            </ul>
          )}
          {!m.manifest && (
            <button type="button" disabled={busy} onClick={() => void loadDefaultModel()}>
              Retry the bundled model
            </button>
          )}
          <div className="row">
            <label>
              Hub model{' '}
              <input
                aria-label="Hub repo id"
                list="known-models"
                value={repo}
                size={28}
                onChange={(e) => setRepo(e.target.value)}
              />
            </label>
            <datalist id="known-models">
              {KNOWN_MODELS.map((k) => (
                <option key={k.repo} value={k.repo}>
                  {k.name}
                </option>
              ))}
            </datalist>
            <button
              type="button"
              disabled={busy || !repo.trim()}
              onClick={() =>
                void loadModel({ kind: 'hub', repo: repo.trim(), ...(hubUrl() ? { hubUrl: hubUrl()! } : {}) })
              }
            >
              Load from hub
            </button>
          </div>
          {known && (
            <p className="hint">
              {known.name}: {(known.parameters / 1e6).toFixed(0)} M parameters, download about{' '}
              {formatBytes(known.downloadBytes)}, GPU memory about{' '}
              {formatBytes(known.gpuBytes[precisionFor(m.precision)])} at {precisionFor(m.precision)}
              {known.note ? ` (${known.note})` : ''}. Downloads are cached in the browser.
            </p>
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
              disabled={files.length === 0 || busy}
              onClick={() => void loadModel({ kind: 'files', files })}
            >
              Load local files
            </button>
          </div>
          <p className="hint">
            Loading another model keeps your stored texts; their states are recomputed for the new model.
          </p>
        </details>
      )}
    </section>
  );
}
