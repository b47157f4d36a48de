/**
 * A long run's progress line: tokens done of total, tokens/s, the time left and a Cancel button. Short runs
 * never show it (below `minTokens`), so the everyday slider drag is not cluttered.
 */
import { useEffect, useState } from 'react';
import { formatEta, runRate, type RunProgress } from './rate.ts';

export const LONG_RUN_TOKENS = 512;

export function LongRun({
  label,
  progress,
  onCancel,
  minTokens = LONG_RUN_TOKENS,
  bar = true,
}: {
  /** What runs, e.g. "Scoring the evaluation text"; also names the Cancel button. */
  label: string;
  progress: RunProgress;
  onCancel: () => void;
  minTokens?: number;
  /** Off where the caller already shows a progress bar for the run. */
  bar?: boolean;
}) {
  // Re-render twice a second so the rate and the time left move between progress reports.
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const t = setInterval(() => setNow(performance.now()), 500);
    return () => clearInterval(t);
  }, []);
  if (progress.total < minTokens) return null;
  const { tokensPerSecond, etaSeconds } = runRate(progress, Math.max(now, progress.startedAt));
  return (
    <div className="long-run" role="group" aria-label={label}>
      {bar && (
        <>
          <progress aria-label={`${label}: tokens done`} value={progress.done} max={progress.total} />{' '}
        </>
      )}
      <span className="hint" aria-live="off">
        {progress.done.toLocaleString('en')} / {progress.total.toLocaleString('en')} tokens
        {tokensPerSecond !== undefined && ` · ${Math.round(tokensPerSecond).toLocaleString('en')} tokens/s`}
        {etaSeconds !== undefined && ` · ${formatEta(etaSeconds)} left`}
      </span>{' '}
      <button type="button" aria-label={`Cancel ${label.toLowerCase()}`} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
