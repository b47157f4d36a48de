/**
 * The benchmark page (`?bench`): the same measurements as `soup bench` (src/bench/run.ts), on this browser's
 * GPU, with random weights of a real Mamba size generated on the GPU, including the playground's own
 * mix-and-rescore path (its engine service, here on the page's thread rather than in the Worker). It opens its
 * own device, so it never touches the playground's model or the saved states.
 */
import { useRef, useState } from 'react';
import { formatText, kernelRows, summaryRows } from '../../bench/format.ts';
import { parameterCount, runBenchmark, type BenchResult } from '../../bench/run.ts';
import type { WeightDtype } from '../../engine/api.ts';
import type { MambaConfig } from '../../model/config.ts';
import { openDevice, type EngineDevice } from '../../engine/gpu/device.ts';
import {
  createRandomEngine,
  RANDOM_SIZES,
  randomConfig,
  type RandomSize,
} from '../../engine/randomWeights.ts';

type Status =
  | { kind: 'idle' }
  | { kind: 'running'; message: string }
  | { kind: 'done'; result: BenchResult }
  | { kind: 'error'; message: string };

/** 'tiny': a few layers of small width, to check in seconds that the page works on this GPU (and in tests). */
type PageSize = RandomSize | 'tiny';
const SIZES: PageSize[] = [...(Object.keys(RANDOM_SIZES) as RandomSize[]), 'tiny'];

function pageConfig(size: PageSize): MambaConfig {
  if (size !== 'tiny') return randomConfig(size);
  return {
    ...randomConfig('130m'),
    vocabSize: 1024,
    hiddenSize: 64,
    intermediateSize: 128,
    numLayers: 2,
    timeStepRank: 4,
  };
}

function weightGb(size: PageSize, dtype: WeightDtype): string {
  const gb = (parameterCount(pageConfig(size)) * (dtype === 'f16' ? 2 : 4)) / 1e9;
  return gb < 0.01 ? gb.toFixed(4) : gb.toFixed(2);
}

export function BenchPage() {
  const [size, setSize] = useState<PageSize>('130m');
  const [dtype, setDtype] = useState<WeightDtype>('f16');
  const [quick, setQuick] = useState(false);
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const dev = useRef<EngineDevice | undefined>(undefined);

  async function run() {
    setStatus({ kind: 'running', message: 'opening the GPU' });
    try {
      dev.current ??= await openDevice(navigator.gpu, 'state-soup-bench');
      const d = dev.current;
      setStatus({ kind: 'running', message: `generating random:${size} weights (${dtype}) on the GPU` });
      const t0 = performance.now();
      const { engine, aLogs } = await createRandomEngine(d, pageConfig(size), { dtype });
      const uploadMs = performance.now() - t0;
      try {
        const info = d.adapterInfo;
        const result = await runBenchmark(
          {
            engine,
            aLogs,
            model: `random:${size}`,
            adapter:
              [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') ||
              'unknown adapter',
            hasTimestamps: d.hasTimestamps,
            adapterFeatures: d.adapterFeatures,
            uploadMs,
          },
          { quick, onProgress: (message) => setStatus({ kind: 'running', message }) },
        );
        setStatus({ kind: 'done', result });
      } finally {
        engine.destroy();
      }
    } catch (e) {
      // A lost device cannot be reused: open a new one next time.
      if ((e as Error).name === 'GpuDeviceLostError') dev.current = undefined;
      setStatus({ kind: 'error', message: (e as Error).message });
    }
  }

  const running = status.kind === 'running';
  const result = status.kind === 'done' ? status.result : undefined;
  return (
    <div className="app">
      <header className="app-header">
        <h1>Benchmark</h1>
        <p className="tagline">
          How fast this engine runs Mamba on your GPU: prefill, decode, mixing two states and rescoring a
          text. Weights are random, of the real model sizes, generated on the GPU; your saved states are not
          touched. <a href="./">Back to the playground</a>
        </p>
      </header>
      <section className="panel" aria-labelledby="bench-setup">
        <h2 id="bench-setup">Setup</h2>
        <label>
          Size (random weights){' '}
          <select value={size} disabled={running} onChange={(e) => setSize(e.target.value as PageSize)}>
            {SIZES.map((s) => (
              <option key={s} value={s}>
                {s} ({weightGb(s, dtype)} GB of weights)
              </option>
            ))}
          </select>
        </label>{' '}
        <label>
          Weights{' '}
          <select value={dtype} disabled={running} onChange={(e) => setDtype(e.target.value as WeightDtype)}>
            <option value="f16">f16</option>
            <option value="f32">f32</option>
          </select>
        </label>{' '}
        <label>
          <input
            type="checkbox"
            checked={quick}
            disabled={running}
            onChange={(e) => setQuick(e.target.checked)}
          />{' '}
          quick (short lengths)
        </label>{' '}
        <button type="button" onClick={() => void run()} disabled={running}>
          {running ? 'Running…' : 'Run benchmark'}
        </button>
        {status.kind === 'running' && <p role="status">{status.message}…</p>}
        {status.kind === 'error' && (
          <p className="banner banner-error" role="alert">
            {status.message}
          </p>
        )}
      </section>
      {result && <BenchTables result={result} />}
    </div>
  );
}

function BenchTables({ result }: { result: BenchResult }) {
  const download = () => {
    const url = URL.createObjectURL(
      new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' }),
    );
    const a = document.createElement('a');
    a.href = url;
    a.download = `bench-${result.model.replace(/[^a-z0-9.]+/gi, '-')}-${result.dtype}.json`;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section className="panel" aria-labelledby="bench-results">
      <h2 id="bench-results">Results</h2>
      <table className="bench-table">
        <tbody>
          {summaryRows(result).map((r) => (
            <tr key={r.label}>
              <th scope="row">{r.label}</th>
              <td>{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(result.profiles ?? []).map((p) => (
        <div key={p.phase}>
          <h3>GPU time per kernel, {p.phase}</h3>
          <table className="bench-table">
            <tbody>
              {kernelRows(result, p.phase).map((r) => (
                <tr key={r.label}>
                  <th scope="row">{r.label.trim()}</th>
                  <td>{r.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {result.notes.map((n) => (
        <p key={n}>{n}</p>
      ))}
      <button type="button" onClick={download}>
        Download JSON
      </button>{' '}
      <button type="button" onClick={() => void navigator.clipboard?.writeText(formatText(result))}>
        Copy as text
      </button>
    </section>
  );
}
