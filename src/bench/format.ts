/** The benchmark's figures as plain text (the CLI prints this; the page shows the same rows). */
import type { BenchResult } from './run.ts';

const f = (x: number, digits = 1) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : String(x);

export interface Row {
  label: string;
  value: string;
}

/** Which f16 path ran, for the weights row. */
function f16Note(r: BenchResult): string {
  if (r.f16Kernels === 'native') return ' (native shader-f16 loads, f32 sums)';
  if (r.f16Kernels === 'packed') return ' (packed two per u32, no shader-f16)';
  return '';
}

/** Headline figures, one per row. */
export function summaryRows(r: BenchResult): Row[] {
  const rows: Row[] = [
    {
      label: 'model',
      value: `${r.model} (${(r.config.params / 1e6).toFixed(0)} M params, ${r.config.layers} layers × d_model ${r.config.dModel})`,
    },
    {
      label: 'weights',
      value: `${r.dtype}${f16Note(r)}, kernels: ${r.variant}, prefill GEMM: ${r.prefillGemm}`,
    },
    { label: 'adapter', value: r.adapter },
    ...(r.adapterFeatures ? [{ label: 'adapter features', value: r.adapterFeatures.join(', ') }] : []),
    { label: 'upload', value: `${f(r.uploadMs, 0)} ms` },
  ];
  for (const p of r.prefill) {
    rows.push({ label: `prefill ${p.tokens}`, value: `${f(p.tokPerS, 0)} tok/s (${f(p.ms, 1)} ms)` });
  }
  rows.push({
    label: `decode ${r.decode.tokens}`,
    value: `${f(r.decode.tokPerS, 1)} tok/s (${f(r.decode.msPerToken, 2)} ms/token)`,
  });
  rows.push({
    label: `mix + rescore ${r.mixRescore.evalTokens}`,
    value: `${f(r.mixRescore.totalMs, 1)} ms (mix ${f(r.mixRescore.mixMs, 2)} ms, score ${f(r.mixRescore.scoreMs, 1)} ms)`,
  });
  if (r.servicePath) {
    rows.push({
      label: `page path: recipe → score ${r.servicePath.evalTokens}`,
      value: `${f(r.servicePath.totalMs, 1)} ms (median of ${r.servicePath.requests} requests through the engine service, min ${f(r.servicePath.minMs, 1)} ms)`,
    });
  }
  rows.push({
    label: 'decode bandwidth',
    value: `${f(r.decodeBandwidthGBs, 1)} GB/s (${f(r.decodeBytes.total / 1e6, 1)} MB of weights and state per token)`,
  });
  rows.push({
    label: 'dispatches',
    value: `${r.dispatchesPerDecodeToken} per decode token; ${r.dispatchesPerPrefillChunk} per prefill chunk of ${r.prefillChunk}`,
  });
  rows.push({
    label: 'dispatch floor',
    value: `${f(r.dispatchFloor.ms, 3)} ms for ${r.dispatchFloor.dispatches} empty dispatches (${f(r.dispatchFloor.perDispatchUs, 1)} µs each beyond the first)`,
  });
  for (const p of r.profiles ?? []) {
    const wall = p.phase === 'decode' ? r.decode.msPerToken : undefined;
    rows.push({
      label: `GPU time, ${p.phase}`,
      value:
        `${f(p.gpuMs, 3)} ms over ${p.dispatches} dispatches (${p.tokens} token${p.tokens === 1 ? '' : 's'})` +
        (wall !== undefined ? `; wall ${f(wall, 3)} ms/token` : ''),
    });
  }
  return rows;
}

/** The per-kernel breakdown of one profiled phase, heaviest first. */
export function kernelRows(r: BenchResult, phase: string, top = 12): Row[] {
  const p = r.profiles?.find((x) => x.phase === phase);
  if (!p) return [];
  return p.kernels.slice(0, top).map((k) => ({
    label: `  ${k.kernel} ×${k.calls}`,
    value: `${f(k.ms, 3)} ms (${f(100 * k.share, 1)} %)`,
  }));
}

export function formatText(r: BenchResult): string {
  const rows = [...summaryRows(r)];
  for (const p of r.profiles ?? []) {
    rows.push({ label: `kernels, ${p.phase}`, value: '' }, ...kernelRows(r, p.phase));
  }
  const w = Math.max(...rows.map((x) => x.label.length));
  const lines = rows.map((x) => `${x.label.padEnd(w)}  ${x.value}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
