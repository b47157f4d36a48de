/**
 * Retrieval (issue 5, UX.md "Retrieval"): the state of a short query (one or two examples) ranks the stored
 * states by similarity, cosine or L2, on one layer or all; "Mix top k" hands the k best to the mixer with
 * weights softmax(similarity / τ). The worker computes states and scores; this holds only ids and numbers.
 */
import { useState } from 'react';
import { useLibraryStore } from '../../stores/library.ts';
import { setMixOptions, setMixWeights } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { engine, errorText } from '../model/engine.ts';
import { topKMix, type Hit } from './topk.ts';

export function RetrievalPanel() {
  const entries = useLibraryStore((s) => s.entries);
  const status = useLibraryStore((s) => s.status);
  const ready = useModelStore((s) => s.status === 'ready');
  const layers = useModelStore((s) => s.info?.layers ?? 0);
  const [query, setQuery] = useState('');
  const [metric, setMetric] = useState<'cosine' | 'l2'>('cosine');
  const [layer, setLayer] = useState<number | 'all'>('all');
  const [k, setK] = useState(2);
  const [tau, setTau] = useState(0.05);
  const [hits, setHits] = useState<Hit[]>();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  const readyIds = entries.filter((e) => status[e.id]?.kind === 'ready').map((e) => e.id);
  const name = (id: string) => entries.find((e) => e.id === id)?.name ?? '(deleted)';

  const rank = async () => {
    setMessage(undefined);
    setBusy(true);
    try {
      const r = await engine().request(
        'retrieved',
        { type: 'retrieve', query, keys: readyIds, metric, layer },
        { lane: 'retrieve' },
      );
      setHits(r.hits);
    } catch (e) {
      setMessage(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const mixTop = () => {
    try {
      const m = topKMix(hits ?? [], k, tau);
      setMixOptions({ selected: m.selected, mode: 'weighted', normalize: false });
      setMixWeights(m.weights);
      setMessage(
        `Mixing the top ${m.selected.length}: ${m.selected.map((id) => `${name(id)} ${m.weights[id]!.toFixed(3)}`).join(', ')}.`,
      );
    } catch (e) {
      setMessage((e as Error).message);
    }
  };

  return (
    <section className="panel retrieval-panel" aria-labelledby="retrieval-title">
      <h2 id="retrieval-title">Retrieval</h2>
      <label className="field">
        <span>Retrieval query</span>
        <textarea
          rows={3}
          value={query}
          placeholder={'One or two examples, e.g.\nhot->cold'}
          onChange={(e) => setQuery(e.target.value)}
        />
      </label>
      <div className="row">
        <label>
          Similarity{' '}
          <select value={metric} onChange={(e) => setMetric(e.target.value as 'cosine' | 'l2')}>
            <option value="cosine">cosine</option>
            <option value="l2">L2 (−distance)</option>
          </select>
        </label>
        <label>
          Layer{' '}
          <select
            value={String(layer)}
            onChange={(e) => setLayer(e.target.value === 'all' ? 'all' : Number(e.target.value))}
          >
            <option value="all">all layers</option>
            {Array.from({ length: layers }, (_, l) => (
              <option key={l} value={l}>
                layer {l}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          disabled={!ready || busy || readyIds.length === 0 || query.trim() === ''}
          onClick={() => void rank()}
        >
          Rank states
        </button>
      </div>
      <p className="hint" aria-label="States to rank">
        {readyIds.length === 0
          ? 'Save some states first; they are ranked here.'
          : `${readyIds.length} of ${entries.length} stored states ready to rank.`}
      </p>
      {hits && (
        <ol className="retrieval-hits" aria-label="Retrieved states" aria-busy={busy}>
          {hits.map((h) => (
            <li key={h.key}>
              {name(h.key)}: <span className="retrieval-score">{h.score.toFixed(4)}</span>
            </li>
          ))}
        </ol>
      )}
      <div className="row">
        <label>
          k{' '}
          <input
            type="number"
            min={1}
            step={1}
            value={k}
            style={{ width: '4em' }}
            onChange={(e) => setK(Math.max(1, Math.round(Number(e.target.value) || 1)))}
          />
        </label>
        <label>
          τ{' '}
          <input
            type="number"
            min={0.001}
            step={0.01}
            value={tau}
            aria-label="Temperature τ"
            style={{ width: '5em' }}
            onChange={(e) => setTau(Number(e.target.value))}
          />
        </label>
        <button type="button" disabled={!hits || hits.length === 0} onClick={mixTop}>
          Mix top k
        </button>
      </div>
      {message && (
        <p className="hint" role="status">
          {message}
        </p>
      )}
    </section>
  );
}
