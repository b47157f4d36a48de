/**
 * The sweep: perplexity of the evaluation text against one mixed state's weight from −0.5 to 1.5 (others
 * fixed), with the baselines as reference lines and the current weight marked; exportable as CSV.
 */
import { useState } from 'react';
import {
  CartesianGrid,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { useLibraryStore } from '../../stores/library.ts';
import { useShallow } from 'zustand/react/shallow';
import { recipeOf, useMixSettings } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import {
  selectSweep,
  sweepFinished,
  sweepProgressed,
  sweepStarted,
  sweepStopped,
  useResultsStore,
} from '../../stores/results.ts';
import { useSessionStore } from '../../stores/session.ts';
import { isAbort } from '../../worker/client.ts';
import { engine, errorText } from '../model/engine.ts';
import { sweepCsv, SWEEP_ALPHAS } from './sweep.ts';

const COLOURS = ['#888', '#d97706', '#2563eb', '#16a34a', '#9333ea', '#dc2626', '#0891b2'];

export function SweepChart() {
  const entries = useLibraryStore((s) => s.entries);
  const status = useLibraryStore((s) => s.status);
  const mixer = useMixSettings();
  const ready = useModelStore((s) => s.status === 'ready');
  const evalText = useSessionStore((s) => s.evalText);
  const { sweep, sweepStatus, sweepProgress, baselines } = useResultsStore(useShallow(selectSweep));
  const [target, setTarget] = useState<string>('');
  const [error, setError] = useState<string>();
  const mixed = mixer.selected.filter((id) => status[id]?.kind === 'ready');
  const key = mixed.includes(target) ? target : (mixed[mixed.length - 1] ?? '');
  const nameOf = (id: string) => entries.find((e) => e.id === id)?.name ?? id;
  const canRun = ready && mixer.mode === 'weighted' && key !== '' && evalText.trim() !== '';

  const run = async () => {
    setError(undefined);
    sweepStarted(SWEEP_ALPHAS.length);
    try {
      const r = await engine().request(
        'swept',
        { type: 'sweep', recipe: recipeOf(mixer), key, alphas: SWEEP_ALPHAS, text: evalText },
        {
          lane: 'sweep',
          onProgress: (_p, done, total) => sweepProgressed(done, total),
        },
      );
      sweepFinished({ key, label: nameOf(key), points: r.points });
    } catch (e) {
      sweepStopped();
      if (!isAbort(e)) setError(errorText(e));
    }
  };

  const download = () => {
    if (!sweep) return;
    const blob = new Blob([sweepCsv(sweep, baselines)], { type: 'text/csv' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `sweep-${sweep.label.replace(/[^\w-]+/g, '_')}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
  };

  const current = sweep ? mixer.weights[sweep.key] : undefined;
  return (
    <div className="sweep">
      <h3>Sweep</h3>
      <div className="row">
        <label>
          Weight to sweep{' '}
          <select value={key} onChange={(e) => setTarget(e.target.value)} disabled={mixed.length === 0}>
            {mixed.map((id) => (
              <option key={id} value={id}>
                {nameOf(id)}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="button" disabled={!canRun || sweepStatus === 'running'} onClick={() => void run()}>
          Run sweep (−0.5 … 1.5)
        </button>{' '}
        {sweepStatus === 'running' && (
          <>
            <progress
              aria-label="Sweep progress"
              value={sweepProgress?.done ?? 0}
              max={sweepProgress?.total ?? 1}
            />{' '}
            <button type="button" onClick={() => engine().cancelLane('sweep')}>
              Cancel sweep
            </button>
          </>
        )}
        <button type="button" disabled={!sweep} onClick={download}>
          Export sweep CSV
        </button>
      </div>
      {!canRun && mixer.mode !== 'weighted' && (
        <p className="hint">The sweep varies a weight: choose the Weighted mode.</p>
      )}
      {error && <p className="error-text">{error}</p>}
      {sweep && (
        <figure className="sweep-chart">
          <ResponsiveContainer width="100%" height={240}>
            <LineChart data={sweep.points} margin={{ top: 18, right: 16, bottom: 16, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                dataKey="alpha"
                type="number"
                domain={[-0.5, 1.5]}
                label={{ value: `weight of ${sweep.label}`, position: 'insideBottom', offset: -8 }}
              />
              <YAxis
                scale="log"
                domain={['auto', 'auto']}
                allowDataOverflow
                width={60}
                tickFormatter={(v: number) => v.toPrecision(3)}
              />
              <Tooltip
                formatter={(v) => (typeof v === 'number' ? v.toPrecision(4) : String(v))}
                labelFormatter={(a) => `α = ${String(a)}`}
              />
              {baselines.map((b, i) =>
                b.perplexity !== undefined && Number.isFinite(b.perplexity) ? (
                  <ReferenceLine
                    key={b.label}
                    y={b.perplexity}
                    stroke={COLOURS[i % COLOURS.length]}
                    strokeDasharray="4 4"
                  />
                ) : null,
              )}
              {current !== undefined && (
                <ReferenceLine
                  x={current}
                  stroke="#111"
                  label={{ value: 'current', position: 'top', fontSize: 10 }}
                />
              )}
              <Line
                type="monotone"
                dataKey="perplexity"
                stroke="#7c3aed"
                strokeWidth={2}
                dot={{ r: 2 }}
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
          <ul className="sweep-legend">
            {baselines.map((b, i) =>
              b.perplexity !== undefined && Number.isFinite(b.perplexity) ? (
                <li key={b.label}>
                  <span className="swatch" style={{ borderColor: COLOURS[i % COLOURS.length] }} /> {b.label}{' '}
                  {b.perplexity.toPrecision(4)}
                </li>
              ) : null,
            )}
          </ul>
          <figcaption className="hint">
            Perplexity (log scale) against the weight of {sweep.label}; dashed lines are the baselines.
          </figcaption>
        </figure>
      )}
    </div>
  );
}
