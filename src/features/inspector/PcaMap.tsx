/**
 * A 2-D map of the stored states: their flattened SSM states (every layer, or one) projected on the first two
 * principal components, each point coloured by its task label. Points are focusable (Tab, or the arrow keys
 * from one to the next); hovering or focusing one shows its name.
 */
import { useMemo, useRef, useState } from 'react';
import { pcaFromGram, sumGrams } from './pca.ts';

/** Ten well-separated colours (one per task of the bundled suite), then grey for states without a task. */
const TASK_COLOURS = [
  '#7c3aed',
  '#d97706',
  '#2563eb',
  '#16a34a',
  '#dc2626',
  '#0891b2',
  '#c026d3',
  '#65a30d',
  '#92400e',
  '#475569',
];
const NO_TASK = '#9ca3af';
export const NO_TASK_LABEL = 'no task label';

export interface MapPoint {
  key: string;
  name: string;
  task?: string;
}

/** Each task label (sorted) with its colour; states without a label share grey. */
export function taskColours(points: MapPoint[]): Map<string, string> {
  const tasks = [...new Set(points.map((p) => p.task).filter((t): t is string => !!t))].sort();
  const m = new Map(tasks.map((t, i) => [t, TASK_COLOURS[i % TASK_COLOURS.length]!]));
  if (points.some((p) => !p.task)) m.set(NO_TASK_LABEL, NO_TASK);
  return m;
}

const W = 320;
const H = 230;
const PAD = 16;

export function PcaMap({ points, grams }: { points: MapPoint[]; grams: number[][][] }) {
  const [layer, setLayer] = useState<'all' | number>('all');
  const [active, setActive] = useState<number>();
  const refs = useRef<(SVGCircleElement | null)[]>([]);
  const layers = grams.length;
  const chosen = layer === 'all' || layer >= layers ? 'all' : layer;
  const map = useMemo(
    () => pcaFromGram(chosen === 'all' ? sumGrams(grams) : grams[chosen]!),
    [grams, chosen],
  );
  const colours = taskColours(points);
  if (points.length < 2) return null;

  const xs = map.coords.map((c) => c[0]!);
  const ys = map.coords.map((c) => c[1]!);
  const span = (v: number[]) => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    return hi - lo > 1e-12 ? { lo, hi } : { lo: lo - 1, hi: hi + 1 };
  };
  const sx = span(xs);
  const sy = span(ys);
  const px = (x: number) => PAD + ((x - sx.lo) / (sx.hi - sx.lo)) * (W - 2 * PAD);
  // SVG y grows downwards: PC2 up.
  const py = (y: number) => H - PAD - ((y - sy.lo) / (sy.hi - sy.lo)) * (H - 2 * PAD);
  // Keyboard order: left to right on the map.
  const order = points.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const pct = (f: number | undefined) => `${Math.round(100 * (f ?? 0))} %`;
  const label = (i: number) =>
    `${points[i]!.name}, ${points[i]!.task ?? NO_TASK_LABEL}: PC1 ${xs[i]!.toPrecision(3)}, PC2 ${ys[i]!.toPrecision(3)}`;
  const step = (from: number, by: number) => {
    const at = order.indexOf(from);
    const next = order[(at + by + order.length) % order.length]!;
    refs.current[next]?.focus();
  };

  return (
    <figure className="pca">
      <figcaption>
        <strong>PCA map</strong> of the stored states’ SSM states{' '}
        <label>
          from{' '}
          <select
            aria-label="PCA layer"
            value={String(chosen)}
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
      </figcaption>
      <div className="pca-plot">
        <svg
          viewBox={`0 0 ${W} ${H}`}
          role="group"
          aria-label={`PCA map: PC1 explains ${pct(map.explained[0])}, PC2 ${pct(map.explained[1])} of the variance`}
        >
          <rect x={0.5} y={0.5} width={W - 1} height={H - 1} className="pca-frame" />
          <text x={W - 4} y={H - 4} textAnchor="end" className="pca-axis">
            PC1 ({pct(map.explained[0])})
          </text>
          <text x={4} y={12} className="pca-axis">
            PC2 ({pct(map.explained[1])})
          </text>
          {points.map((p, i) => (
            <circle
              key={p.key}
              ref={(el) => {
                refs.current[i] = el;
              }}
              cx={px(xs[i]!)}
              cy={py(ys[i]!)}
              r={active === i ? 8 : 6}
              fill={colours.get(p.task ?? NO_TASK_LABEL)}
              className="pca-point"
              role="img"
              tabIndex={0}
              aria-label={label(i)}
              onMouseEnter={() => setActive(i)}
              onMouseLeave={() => setActive((a) => (a === i ? undefined : a))}
              onFocus={() => setActive(i)}
              onBlur={() => setActive((a) => (a === i ? undefined : a))}
              onKeyDown={(e) => {
                if (e.key === 'ArrowRight' || e.key === 'ArrowDown') step(i, 1);
                else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') step(i, -1);
                else return;
                e.preventDefault();
              }}
            />
          ))}
        </svg>
        {active !== undefined && points[active] && (
          <div
            className="pca-tip"
            role="tooltip"
            style={{
              left: `${(100 * px(xs[active]!)) / W}%`,
              top: `${(100 * py(ys[active]!)) / H}%`,
              // Near an edge the tip opens inwards, so it stays inside the map.
              transform: `translate(${px(xs[active]!) < W / 4 ? '-12px' : px(xs[active]!) > (3 * W) / 4 ? 'calc(-100% + 12px)' : '-50%'}, calc(-100% - 12px))`,
            }}
          >
            <strong>{points[active].name}</strong>
            <br />
            {points[active].task ?? NO_TASK_LABEL}
          </div>
        )}
      </div>
      <ul className="pca-legend" aria-label="Task colours">
        {[...colours].map(([task, colour]) => (
          <li key={task}>
            <span className="pca-swatch" style={{ background: colour }} aria-hidden="true" /> {task}
          </li>
        ))}
      </ul>
    </figure>
  );
}
