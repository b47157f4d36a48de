/** Perplexity of the evaluation text from the current mix, live, with per-token NLL colouring and baselines. */
import { useShallow } from 'zustand/react/shallow';
import { selectScore, useResultsStore } from '../../stores/results.ts';
import { useSessionStore } from '../../stores/session.ts';
import { useModelStore } from '../../stores/model.ts';
import { SweepChart } from '../charts/SweepChart.tsx';
import { useBaselines } from './baselines.ts';
import { cancelScore, SCORE_RUN, useLiveScore } from './useLiveScore.ts';
import { LongRun } from '../progress/LongRun.tsx';
import { useRunsStore } from '../progress/runs.ts';
import { useShown } from '../present/view.ts';

/** NLL in nats → a background colour: green (likely) to red (surprising), clamped at 8 nats. */
export function nllColour(nll: number): string {
  const x = Math.min(1, Math.max(0, nll / 8));
  return `hsl(${Math.round(120 * (1 - x))} 75% ${Math.round(88 - 18 * x)}%)`;
}

export function formatPpl(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '—';
  return p >= 1000 ? p.toExponential(3) : p.toFixed(p >= 100 ? 1 : 3);
}

export function PerplexityPanel() {
  useLiveScore();
  useBaselines();
  const evalText = useSessionStore((s) => s.evalText);
  const setSession = useSessionStore((s) => s.set);
  const ready = useModelStore((s) => s.status === 'ready');
  const { score, scoreStatus, scoreError, baselines, scoreSeq } = useResultsStore(useShallow(selectScore));
  const showSweep = useShown('sweep');
  const run = useRunsStore((s) => s.runs[SCORE_RUN]);

  return (
    <section className="panel" aria-labelledby="ppl-title">
      <h2 id="ppl-title">Evaluation</h2>
      <label className="field">
        <span>Evaluation text</span>
        <textarea
          aria-label="Evaluation text"
          rows={3}
          value={evalText}
          placeholder="Text to score, continued from the current mix"
          onChange={(e) => setSession({ evalText: e.target.value })}
        />
      </label>
      <div className="ppl-readout">
        <span className="ppl-caption" id="ppl-caption">
          Perplexity of the mix
        </span>
        <output
          className="ppl-number"
          aria-label="Perplexity"
          aria-live="polite"
          aria-busy={scoreStatus === 'running'}
          data-result={scoreSeq}
        >
          {score ? formatPpl(score.perplexity) : '—'}
        </output>
        <span className="hint" aria-hidden="true">
          {scoreStatus === 'running' && 'updating…'}
          {scoreStatus === 'done' && score && `${score.tokens.length} tokens · ${Math.round(score.ms)} ms`}
          {!ready && 'model not ready'}
        </span>
      </div>
      {run && <LongRun label="Scoring the evaluation text" progress={run} onCancel={cancelScore} />}
      {scoreError && (
        <p
          className={scoreStatus === 'error' ? 'error-text' : 'hint'}
          role={scoreStatus === 'error' ? 'alert' : undefined}
        >
          {scoreError}
        </p>
      )}
      {score && (
        <p className="token-text" aria-label="Per-token loss">
          {score.tokens.map((t, i) => {
            const nll = i === 0 ? undefined : score.nll[i - 1];
            return (
              <span
                key={i}
                className="token"
                style={nll === undefined ? undefined : { background: nllColour(nll) }}
                title={
                  nll === undefined
                    ? 'first token (not scored)'
                    : `NLL ${nll.toFixed(2)} nats · p = ${Math.exp(-nll).toPrecision(3)}`
                }
              >
                {t.text}
              </span>
            );
          })}
        </p>
      )}
      {baselines.length > 0 && (
        <table className="baselines">
          <caption>Baselines (same evaluation text)</caption>
          <tbody>
            {baselines.map((b) => (
              <tr key={b.label}>
                <th scope="row">{b.label}</th>
                <td>
                  {b.error ? (
                    <span className="error-text">{b.error}</span>
                  ) : b.perplexity === undefined ? (
                    '…'
                  ) : (
                    formatPpl(b.perplexity)
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {showSweep && <SweepChart />}
    </section>
  );
}
