/**
 * Generation: the query continued from the mix and, side by side, from each mixed state alone and from
 * the concatenated texts. Tokens stream in, coloured by the probability the model gave them; hovering or
 * focusing one shows the top alternatives.
 */
import { useEffect, useRef } from 'react';
import { useLibraryStore } from '../../stores/library.ts';
import { useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import {
  generationStarted,
  tokenStreamed,
  updateColumn,
  useResultsStore,
  type GenerationColumn,
} from '../../stores/results.ts';
import { useShallow } from 'zustand/react/shallow';
import { selectSessionInputs, setSampling, setSessionInputs, useSessionStore } from '../../stores/session.ts';
import { isAbort } from '../../worker/client.ts';
import type { StartState } from '../../worker/protocol.ts';
import { engine, errorText } from '../model/engine.ts';
import { soloAndConcatenated } from '../mixer/comparisons.ts';
import { useMixStart } from '../perplexity/useLiveScore.ts';
import { useShown } from '../present/view.ts';
import { STOP_LABELS, stopSequence, type StopMode } from './stop.ts';
import { TokenStream } from './TokenStream.tsx';
import { usePredictStore } from '../predict/predict.ts';
import { PredictCheck } from '../predict/PredictCheck.tsx';

interface ColumnPlan {
  key: string;
  label: string;
  start: StartState;
}

function runColumns(plans: ColumnPlan[]) {
  const { query, sampling, stopMode, stopText } = useSessionStore.getState();
  const stop = stopSequence(query, stopMode, stopText);
  const kept = useResultsStore.getState().generation.filter((c) => !plans.some((p) => p.key === c.key));
  const fresh: GenerationColumn[] = plans.map((p) => ({
    key: p.key,
    label: p.label,
    tokens: [],
    status: 'running',
  }));
  // Keep column order: mix first, then the rest as planned.
  generationStarted(fresh, plans.length > 1 ? [] : kept);
  for (const p of plans) {
    engine()
      .request(
        'generated',
        { type: 'generate', start: p.start, query, sampling, ...(stop !== undefined ? { stop } : {}) },
        {
          lane: `gen-${p.key}`,
          onToken: (_i, token) => tokenStreamed(p.key, token),
        },
      )
      .then((r) => updateColumn(p.key, (c) => ({ ...c, tokens: r.tokens, status: 'done', ms: r.ms })))
      .catch((e: unknown) => {
        if (isAbort(e)) return;
        updateColumn(p.key, (c) => ({ ...c, status: 'error', error: errorText(e) }));
      });
  }
}

export function GenerationPanel() {
  const session = useSessionStore(useShallow(selectSessionInputs));
  const ready = useModelStore((s) => s.status === 'ready');
  const entries = useLibraryStore((s) => s.entries);
  const selected = useMixerStore((s) => s.selected);
  const columns = useResultsStore((s) => s.generation);
  const { start: mixStart, waiting } = useMixStart();
  const mixKey = JSON.stringify(mixStart);
  const firstRun = useRef(true);
  const showSampling = useShown('sampling');
  const predict = usePredictStore(
    useShallow((s) => ({
      on: s.on,
      guess: s.guess,
      locked: s.locked,
      revealed: s.revealed,
      expected: s.expected,
      set: s.set,
    })),
  );
  const covered = predict.on && !predict.revealed;
  const expected =
    predict.expected && predict.expected.query === session.query ? predict.expected.answer : undefined;
  const mixColumn = columns.find((c) => c.key === 'mix');

  const plans = (): ColumnPlan[] => {
    if (!mixStart) return [];
    const list: ColumnPlan[] = [
      { key: 'mix', label: selected.length === 0 ? 'Zero state' : 'Mix', start: mixStart },
    ];
    if (session.sideBySide && selected.length > 0) {
      const mixed = selected.map((id) => entries.find((e) => e.id === id)).filter((e) => e !== undefined);
      list.push(...soloAndConcatenated(mixed));
    }
    return list;
  };

  // Live regeneration: the mix column follows the weights when the toggle is on.
  useEffect(() => {
    if (firstRun.current) {
      firstRun.current = false;
      return;
    }
    if (!session.liveRegenerate || !ready || !mixStart || !session.query) return;
    runColumns([{ key: 'mix', label: selected.length === 0 ? 'Zero state' : 'Mix', start: mixStart }]);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mixKey, session.liveRegenerate]);

  const s = session.sampling;
  return (
    <section className="panel" aria-labelledby="gen-title">
      <h2 id="gen-title">Continuation</h2>
      <form
        className="gen-form"
        onSubmit={(e) => {
          e.preventDefault();
          usePredictStore.getState().set({ revealed: false, locked: usePredictStore.getState().guess });
          runColumns(plans());
        }}
      >
        <label className="field">
          <span>Query</span>
          <textarea
            aria-label="Query"
            rows={2}
            value={session.query}
            placeholder="The model reads this after the mixed state, then continues"
            onChange={(e) => setSessionInputs({ query: e.target.value })}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
          />
        </label>
        {predict.on && (
          <label className="field">
            <span>Your prediction</span>
            <input
              aria-label="Your prediction"
              value={predict.guess}
              placeholder="What will the mix answer? Write it before you generate."
              onChange={(e) => predict.set({ guess: e.target.value })}
            />
          </label>
        )}
        {showSampling && (
          <div className="sampling">
            <label>
              Temperature{' '}
              <input
                type="number"
                min={0}
                max={5}
                step={0.05}
                value={s.temperature}
                onChange={(e) => setSampling({ temperature: Math.max(0, Number(e.target.value)) })}
              />
            </label>
            <label>
              Top-k{' '}
              <input
                type="number"
                min={0}
                max={1000}
                step={1}
                value={s.topK}
                onChange={(e) => setSampling({ topK: Math.max(0, Math.round(Number(e.target.value))) })}
              />
            </label>
            <label>
              Top-p{' '}
              <input
                type="number"
                min={0}
                max={1}
                step={0.01}
                value={s.topP}
                onChange={(e) => setSampling({ topP: Math.min(1, Math.max(0, Number(e.target.value))) })}
              />
            </label>
            <label>
              Seed{' '}
              <input
                type="number"
                min={0}
                step={1}
                value={s.seed}
                onChange={(e) => setSampling({ seed: Math.max(0, Math.round(Number(e.target.value))) })}
              />
            </label>
            <label>
              Length{' '}
              <input
                type="number"
                min={1}
                max={512}
                step={1}
                value={s.maxNewTokens}
                onChange={(e) =>
                  setSampling({
                    maxNewTokens: Math.min(512, Math.max(1, Math.round(Number(e.target.value)))),
                  })
                }
              />
            </label>
            <span className="hint">{s.temperature > 0 ? 'sampling (seeded)' : 'greedy'}</span>
          </div>
        )}
        <div className="row">
          <label>
            Stop at{' '}
            <select
              aria-label="Stop at"
              value={session.stopMode}
              onChange={(e) => setSessionInputs({ stopMode: e.target.value as StopMode })}
            >
              {(Object.keys(STOP_LABELS) as StopMode[]).map((m) => (
                <option key={m} value={m}>
                  {STOP_LABELS[m]}
                </option>
              ))}
            </select>
          </label>
          {session.stopMode === 'custom' && (
            <input
              aria-label="Stop sequence"
              value={session.stopText}
              placeholder="e.g. . or \n"
              onChange={(e) => setSessionInputs({ stopText: e.target.value })}
            />
          )}
        </div>
        <div className="row">
          <button
            type="submit"
            disabled={!ready || !mixStart || !session.query.trim() || (predict.on && !predict.guess.trim())}
          >
            Generate
          </button>{' '}
          <label>
            <input
              type="checkbox"
              checked={predict.on}
              onChange={(e) => predict.set({ on: e.target.checked, revealed: false })}
            />{' '}
            Predict, then reveal
          </label>{' '}
          <label>
            <input
              type="checkbox"
              checked={session.sideBySide}
              onChange={(e) => setSessionInputs({ sideBySide: e.target.checked })}
            />{' '}
            Side by side (each state alone, concatenated texts)
          </label>{' '}
          <label>
            <input
              type="checkbox"
              checked={session.liveRegenerate}
              onChange={(e) => setSessionInputs({ liveRegenerate: e.target.checked })}
            />{' '}
            Regenerate as weights move
          </label>
        </div>
        {waiting && <p className="hint">{waiting}</p>}
        {predict.on && !predict.guess.trim() && (
          <p className="hint">Write your prediction first, then Generate.</p>
        )}
      </form>
      {predict.on && columns.length > 0 && (
        <div className="row">
          {covered ? (
            <button type="button" onClick={() => predict.set({ revealed: true })}>
              Reveal
            </button>
          ) : (
            <PredictCheck
              guess={predict.locked}
              continuation={
                mixColumn && mixColumn.tokens.length > 0
                  ? mixColumn.tokens.map((t) => t.text).join('')
                  : undefined
              }
              expected={expected}
            />
          )}
        </div>
      )}
      <div className="gen-columns" role="region" aria-label="Generation" aria-live="polite">
        {covered && columns.length > 0 && (
          <p className="hint predict-covered">
            The continuations are ready behind this cover
            {columns.some((c) => c.status === 'running') ? ' (still generating)' : ''}: Reveal them when you
            have made your prediction.
          </p>
        )}
        {!covered &&
          columns.map((c) => (
            <article key={c.key} className="gen-column" aria-label={c.label}>
              <h3>
                {c.label}
                {c.status === 'running' && <span className="hint"> · generating…</span>}
                {c.status === 'done' && c.ms !== undefined && (
                  <span className="hint"> · {Math.round(c.ms)} ms</span>
                )}
              </h3>
              <p className="token-text">
                <span className="gen-query">{session.query}</span>
                <TokenStream tokens={c.tokens} />
              </p>
              {c.error && <p className="error-text">{c.error}</p>}
            </article>
          ))}
      </div>
    </section>
  );
}
