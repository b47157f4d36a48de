/**
 * Speed and time left of a long run (reading a state text, scoring an evaluation text) from its progress
 * reports: tokens per second since the first report, and the remaining tokens at that rate.
 */
export interface RunProgress {
  done: number;
  total: number;
  /** When the run started (ms, the same clock as `now`). */
  startedAt: number;
}

export interface RunRate {
  tokensPerSecond?: number;
  etaSeconds?: number;
}

export function runRate(p: RunProgress, now: number): RunRate {
  const seconds = (now - p.startedAt) / 1000;
  // Before the first tokens are through, or within a few milliseconds, a rate would be noise.
  if (p.done <= 0 || seconds < 0.05) return {};
  const tokensPerSecond = p.done / seconds;
  return { tokensPerSecond, etaSeconds: Math.max(0, p.total - p.done) / tokensPerSecond };
}

export function formatEta(s: number): string {
  if (s < 1) return 'under a second';
  if (s < 90) return `about ${Math.round(s)} s`;
  return `about ${Math.round(s / 60)} min`;
}
