/** The sweep's grid and its CSV form (one row per α, then the baselines as comments-free extra rows). */
import type { Baseline } from '../../stores/results.ts';

export const SWEEP_ALPHAS = Array.from({ length: 21 }, (_, i) => Math.round((-0.5 + i * 0.1) * 10) / 10);

function csvField(s: string) {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function sweepCsv(
  sweep: { label: string; points: { alpha: number; perplexity: number }[] },
  baselines: Baseline[],
): string {
  const rows = ['kind,label,weight,perplexity'];
  for (const p of sweep.points) rows.push(`sweep,${csvField(sweep.label)},${p.alpha},${p.perplexity}`);
  for (const b of baselines)
    if (b.perplexity !== undefined) rows.push(`baseline,${csvField(b.label)},,${b.perplexity}`);
  return rows.join('\n') + '\n';
}
