/**
 * The lesson's chart against α: each task's answer probability (left axis, 0–1) and the evaluation text's
 * perplexity (right axis), the cursor at the current α, the zero state's and the concatenated prompts'
 * perplexities as dashed reference lines. The grid fills in point by point; the cursor's numbers come first.
 */
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
import type { LessonSetup } from './lesson.ts';
import type { LiveLesson } from './useLiveLesson.ts';

const COLOUR_A = '#b45309';
const COLOUR_B = '#1d4ed8';
const COLOUR_PPL = '#6d28d9';

export function LessonChart({
  setup,
  live,
  alpha,
  height,
}: {
  setup: LessonSetup;
  live: LiveLesson;
  alpha: number;
  height: number;
}) {
  const { grid, point, baselines, progress } = live;
  const fmt = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
  return (
    <figure className="lesson-chart" aria-label="Chart against α">
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={grid} margin={{ top: 16, right: 8, bottom: 16, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            dataKey="alpha"
            type="number"
            domain={[0, 1]}
            ticks={[0, 0.2, 0.4, 0.6, 0.8, 1]}
            label={{ value: 'α', position: 'insideBottom', offset: -6 }}
          />
          <YAxis yAxisId="p" domain={[0, 1]} width={40} tickFormatter={(v: number) => v.toFixed(1)} />
          <YAxis
            yAxisId="ppl"
            orientation="right"
            domain={['auto', 'auto']}
            width={44}
            tickFormatter={(v: number) => v.toPrecision(3)}
          />
          <Tooltip
            formatter={(v) => (typeof v === 'number' ? v.toPrecision(3) : String(v))}
            labelFormatter={(a) => `α = ${String(a)}`}
          />
          {baselines && (
            <ReferenceLine yAxisId="ppl" y={baselines.zero} stroke="#555" strokeDasharray="4 4" />
          )}
          {baselines && (
            <ReferenceLine yAxisId="ppl" y={baselines.concat} stroke="#0f766e" strokeDasharray="4 4" />
          )}
          <ReferenceLine yAxisId="p" x={alpha} stroke="#111" strokeWidth={2} />
          <Line
            yAxisId="p"
            dataKey="pA"
            name={`P(${setup.answerA})`}
            stroke={COLOUR_A}
            strokeWidth={2}
            dot={{ r: 2 }}
            isAnimationActive={false}
          />
          <Line
            yAxisId="p"
            dataKey="pB"
            name={`P(${setup.answerB})`}
            stroke={COLOUR_B}
            strokeWidth={2}
            dot={{ r: 2 }}
            isAnimationActive={false}
          />
          <Line
            yAxisId="ppl"
            dataKey="perplexity"
            name="perplexity"
            stroke={COLOUR_PPL}
            strokeDasharray="6 2"
            strokeWidth={2}
            dot={{ r: 2 }}
            isAnimationActive={false}
          />
        </LineChart>
      </ResponsiveContainer>
      <ul className="sweep-legend lesson-legend" aria-label="At the cursor">
        <li>
          <span className="swatch" style={{ borderColor: COLOUR_A }} /> P({setup.answerA}){' '}
          <output aria-label={`Probability of ${setup.answerA}`}>{fmt(point?.pA)}</output>
        </li>
        <li>
          <span className="swatch" style={{ borderColor: COLOUR_B }} /> P({setup.answerB}){' '}
          <output aria-label={`Probability of ${setup.answerB}`}>{fmt(point?.pB)}</output>
        </li>
        <li>
          <span className="swatch" style={{ borderColor: COLOUR_PPL }} /> perplexity{' '}
          <output aria-label="Lesson perplexity">{fmt(point?.perplexity)}</output>
        </li>
        {baselines && (
          <li>
            <span className="swatch" style={{ borderColor: '#555' }} /> zero state {fmt(baselines.zero)}
          </li>
        )}
        {baselines && (
          <li>
            <span className="swatch" style={{ borderColor: '#0f766e' }} /> both prompts in one{' '}
            {fmt(baselines.concat)}
          </li>
        )}
      </ul>
      <figcaption className="hint">
        Against α: the probability of each task’s answer (left axis, teacher-forced over its tokens) and the
        perplexity of the evaluation text (right axis, dashed); the dark line is the current α.
        {grid.length === 0 &&
          ` Computing the curve… ${progress?.done ?? 0} of ${progress?.total ?? 11} points.`}
      </figcaption>
    </figure>
  );
}
