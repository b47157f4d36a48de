/**
 * The studies' charts (recharts), accuracies with their 95 % Wilson intervals as error bars:
 * ICL accuracy against shots per method (one chart per task), chunked NLL against K per method, retrieval
 * top-1 per layer for each metric and the answer accuracies by source (points, no line: categories), and the
 * switch's answer shares
 * against α.
 */
import {
  CartesianGrid,
  ErrorBar,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { wilson } from '../../studies/stats.ts';
import type { StudyOutcome } from '../../studies/request.ts';

const COLOURS = ['#888', '#2563eb', '#d97706', '#16a34a', '#9333ea', '#dc2626'];
const pct = (v: number) => `${Math.round(v * 100)} %`;

/** value and [value − lo, hi − value], what ErrorBar draws. */
function withInterval(correct: number, total: number) {
  const { lo, hi } = wilson(correct, total);
  const v = total === 0 ? 0 : correct / total;
  return { v, err: [v - lo, hi - v] as [number, number] };
}

function Lines({
  data,
  x,
  xLabel,
  series,
  yLabel,
  percent,
  tickLabel,
  dotsOnly = false,
}: {
  data: Record<string, unknown>[];
  x: string;
  xLabel: string;
  series: string[];
  yLabel: string;
  percent: boolean;
  /** Names for the x positions (categories drawn at 0, 1, 2, …). */
  tickLabel?: (v: number) => string;
  /** Points with their intervals, no connecting line (categories). */
  dotsOnly?: boolean;
}) {
  return (
    <ResponsiveContainer width="100%" height={260}>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 16, left: 8 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis
          dataKey={x}
          type="number"
          domain={dotsOnly ? ['dataMin - 0.5', 'dataMax + 0.5'] : ['dataMin', 'dataMax']}
          ticks={data.map((d) => d[x] as number)}
          {...(tickLabel ? { tickFormatter: tickLabel } : {})}
          label={{ value: xLabel, position: 'insideBottom', offset: -8 }}
        />
        <YAxis
          domain={percent ? [0, 1] : ['auto', 'auto']}
          tickFormatter={percent ? pct : (v: number) => v.toFixed(2)}
          label={{ value: yLabel, angle: -90, position: 'insideLeft' }}
        />
        <Tooltip formatter={(v) => (percent && typeof v === 'number' ? pct(v) : String(v))} />
        <Legend verticalAlign="top" />
        {series.map((s, i) => (
          <Line
            key={s}
            dataKey={s}
            name={s}
            stroke={COLOURS[i % COLOURS.length]}
            isAnimationActive={false}
            dot={dotsOnly ? { r: 5, fill: COLOURS[i % COLOURS.length] } : { r: 3 }}
            {...(dotsOnly ? { strokeWidth: 0 } : {})}
          >
            {percent && <ErrorBar dataKey={`${s}:err`} width={4} stroke={COLOURS[i % COLOURS.length]} />}
          </Line>
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}

export function StudyCharts({ outcome }: { outcome: StudyOutcome }) {
  switch (outcome.study) {
    case 'icl': {
      const tasks = [...new Set(outcome.rows.map((r) => r.task))];
      const methods = ['single', 'concat', 'soup-mean', 'soup-adecay'];
      return (
        <div className="study-charts">
          {tasks.map((task) => {
            const rows = outcome.rows.filter((r) => r.task === task);
            const zero = rows.find((r) => r.method === 'zero');
            const shots = [...new Set(rows.filter((r) => r.method !== 'zero').map((r) => r.shots))];
            const data = shots.map((k) => {
              const point: Record<string, unknown> = { shots: k };
              for (const m of methods) {
                const r = rows.find((x) => x.shots === k && x.method === m);
                if (!r) continue;
                const { v, err } = withInterval(r.correct, r.total);
                point[m] = v;
                point[`${m}:err`] = err;
              }
              return point;
            });
            return (
              <figure key={task} className="study-chart">
                <figcaption>
                  {task}: exact match against shots per state (k)
                  {zero ? `; no examples: ${pct(zero.accuracy)}` : ''}
                </figcaption>
                <Lines data={data} x="shots" xLabel="shots k" series={methods} yLabel="accuracy" percent />
              </figure>
            );
          })}
        </div>
      );
    }
    case 'chunked': {
      const ks = [...new Set(outcome.rows.map((r) => r.chunks))];
      const methods = [...new Set(outcome.rows.map((r) => r.method))];
      const data = ks.map((k) => {
        const point: Record<string, unknown> = { chunks: k };
        for (const r of outcome.rows.filter((x) => x.chunks === k)) point[r.method] = r.nll;
        return point;
      });
      return (
        <figure className="study-chart">
          <figcaption>
            Mean NLL of the continuation (nats per token, lower is better) against chunks K
          </figcaption>
          <Lines data={data} x="chunks" xLabel="chunks K" series={methods} yLabel="NLL" percent={false} />
        </figure>
      );
    }
    case 'retrieval': {
      const layers = [...new Set(outcome.rows.map((r) => r.layer))];
      // "all" is drawn after the last layer.
      const xOf = (l: number | 'all') => (l === 'all' ? layers.length - 1 : l);
      const data = layers.map((layer) => {
        const point: Record<string, unknown> = { layer: xOf(layer) };
        for (const r of outcome.rows.filter((x) => x.layer === layer)) {
          const { v, err } = withInterval(r.top1, r.total);
          point[r.metric] = v;
          point[`${r.metric}:err`] = err;
        }
        return point;
      });
      const answers = outcome.answers.map((a, i) => {
        const { v, err } = withInterval(a.correct, a.total);
        return { source: i, accuracy: v, 'accuracy:err': err };
      });
      return (
        <div className="study-charts">
          <figure className="study-chart">
            <figcaption>Top-1 retrieval of the query’s task, per layer and over all layers</figcaption>
            <Lines
              data={data}
              x="layer"
              xLabel="layer"
              series={['cosine', 'l2']}
              yLabel="top-1"
              percent
              tickLabel={(v) => (v === layers.length - 1 ? 'all' : String(v))}
            />
          </figure>
          <figure className="study-chart">
            <figcaption>Answer accuracy when the query continues from each state</figcaption>
            <Lines
              data={answers}
              x="source"
              xLabel="answered from"
              series={['accuracy']}
              yLabel="accuracy"
              percent
              dotsOnly
              tickLabel={(v) => outcome.answers[v]?.source ?? ''}
            />
          </figure>
        </div>
      );
    }
    case 'switch': {
      const classes = ['a', 'b', 'both', 'other'] as const;
      const [ta, tb] = (outcome.run.settings['tasks'] as string[] | undefined) ?? ['A', 'B'];
      const names = { a: `${ta} (A)`, b: `${tb} (B)`, both: 'both', other: 'other' };
      const data = outcome.rows.map((r) => {
        const point: Record<string, unknown> = { alpha: r.alpha };
        for (const c of classes) {
          const { v, err } = withInterval(r[c], r.total);
          point[names[c]] = v;
          point[`${names[c]}:err`] = err;
        }
        return point;
      });
      return (
        <figure className="study-chart">
          <figcaption>Share of answers of each kind against α, the weight of task B’s state</figcaption>
          <Lines
            data={data}
            x="alpha"
            xLabel="α"
            series={classes.map((c) => names[c])}
            yLabel="share"
            percent
          />
        </figure>
      );
    }
  }
}
