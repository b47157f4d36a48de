/**
 * The state inspector: per-layer norms of the mixed states, a cosine-similarity heatmap of the library and a
 * PCA map of it coloured by task.
 */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useLibraryStore } from '../../stores/library.ts';
import { useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { inspected, useResultsStore } from '../../stores/results.ts';
import { engine, errorText } from '../model/engine.ts';
import { useMemo, useState } from 'react';
import { PcaMap } from './PcaMap.tsx';
import { cosinesFromGram, sumGrams } from './pca.ts';

const COLOURS = ['#7c3aed', '#d97706', '#2563eb', '#16a34a', '#dc2626', '#0891b2'];

/**
 * A cosine in [−1, 1] as a background: blue (−1) … white (0) … red (1). The ends stop at 65 % lightness so
 * the dark cell text keeps a 4.5:1 contrast (the diagonal, cosine 1, used to be 3.99:1).
 */
export function heat(v: number) {
  const x = Math.max(-1, Math.min(1, v));
  return x >= 0 ? `hsl(0 80% ${100 - 35 * x}%)` : `hsl(220 80% ${100 + 35 * x}%)`;
}

export function InspectorPanel() {
  const entries = useLibraryStore((s) => s.entries);
  const status = useLibraryStore((s) => s.status);
  const selected = useMixerStore((s) => s.selected);
  const ready = useModelStore((s) => s.status === 'ready');
  const inspector = useResultsStore((s) => s.inspector);
  const [error, setError] = useState<string>();
  const readyIds = entries.filter((e) => status[e.id]?.kind === 'ready').map((e) => e.id);
  const name = (id: string) => entries.find((e) => e.id === id)?.name ?? '?';

  const run = async () => {
    setError(undefined);
    try {
      const r = await engine().request('inspected', { type: 'inspect', keys: readyIds });
      inspected({ norms: r.norms, grams: r.grams, keys: r.norms.map((n) => n.key) });
    } catch (e) {
      setError(errorText(e));
    }
  };

  // Cosine over all layers from the summed dot products.
  const similarity = useMemo(
    () => (inspector ? cosinesFromGram(sumGrams(inspector.grams)) : []),
    [inspector],
  );
  const shown = inspector?.norms.filter((n) => selected.includes(n.key)) ?? [];
  const layers = shown[0]?.ssm.length ?? 0;
  const data = Array.from({ length: layers }, (_, l) => ({
    layer: l,
    ...Object.fromEntries(shown.map((n) => [name(n.key), n.ssm[l]])),
  }));

  return (
    <section className="panel" aria-labelledby="inspector-title">
      <h2 id="inspector-title">Inspector</h2>
      <button type="button" disabled={!ready || readyIds.length === 0} onClick={() => void run()}>
        Inspect stored states
      </button>
      {error && <p className="error-text">{error}</p>}
      {inspector && shown.length > 0 && (
        <figure>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="layer" label={{ value: 'layer', position: 'insideBottomRight', offset: -4 }} />
              <YAxis width={50} tickFormatter={(v: number) => v.toPrecision(2)} />
              <Tooltip formatter={(v) => (typeof v === 'number' ? v.toPrecision(4) : String(v))} />
              <Legend />
              {shown.map((n, i) => (
                <Line
                  key={n.key}
                  dataKey={name(n.key)}
                  stroke={COLOURS[i % COLOURS.length]}
                  dot={false}
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
          <figcaption className="hint">‖h‖ (SSM state norm) per layer of the mixed states.</figcaption>
        </figure>
      )}
      {inspector && inspector.keys.length > 0 && (
        <table className="heatmap">
          <caption>Cosine similarity of the stored states’ SSM states (all layers)</caption>
          <thead>
            <tr>
              <td />
              {inspector.keys.map((k) => (
                <th key={k} scope="col">
                  {name(k)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {inspector.keys.map((a, i) => (
              <tr key={a}>
                <th scope="row">{name(a)}</th>
                {inspector.keys.map((b, j) => {
                  const v = similarity[i]?.[j] ?? 0;
                  return (
                    <td
                      key={b}
                      style={{ background: heat(v) }}
                      title={`${name(a)} · ${name(b)}: ${v.toFixed(3)}`}
                    >
                      {v.toFixed(2)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {inspector && inspector.keys.length > 1 && (
        <PcaMap
          points={inspector.keys.map((key) => {
            const e = entries.find((x) => x.id === key);
            return { key, name: e?.name ?? '?', ...(e?.task ? { task: e.task } : {}) };
          })}
          grams={inspector.grams}
        />
      )}
    </section>
  );
}
