/**
 * The lesson's live numbers. At the exact α: the answer first (its own lane, so a newer α supersedes it), then
 * each task's answer probability and the evaluation text's perplexity there (the chart's cursor). Over the α
 * grid, once per pair of states, query and evaluation text: the same curves and the baselines (zero state, the
 * two prompts concatenated). Every request runs on a lane, so newer work replaces older work.
 */
import { useEffect, useState } from 'react';
import { isAbort } from '../../worker/client.ts';
import { errorText } from '../model/engine.ts';
import { CONCAT_SEPARATOR } from '../mixer/comparisons.ts';
import { ALPHA_GRID, type LessonSetup } from './lesson.ts';
import { answerCurve, answerFrom, mixAt, perplexityFrom, type CurvePoint } from './measure.ts';

export interface LessonPoint {
  alpha: number;
  pA: number;
  pB: number;
  perplexity: number;
}

interface Curve {
  key: string;
  grid: LessonPoint[];
  progress?: { done: number; total: number };
  ends?: [string, string];
  baselines?: { zero: number; concat: number };
}

export interface LiveLesson {
  answer?: { alpha: number; text: string; ms: number };
  point?: LessonPoint & { ms: number };
  grid: LessonPoint[];
  /** Points of the grid computed so far, while it is computed. */
  progress?: { done: number; total: number };
  /** Answers at α = 0 and α = 1 (whether α changes anything for this model). */
  ends?: [string, string];
  baselines?: { zero: number; concat: number };
  error?: string;
}

const asPoint = (p: CurvePoint): LessonPoint => ({
  alpha: p.alpha,
  pA: p.probs[0]!,
  pB: p.probs[1]!,
  perplexity: p.perplexity,
});

export function useLiveLesson(
  ids: [string, string] | undefined,
  setup: LessonSetup | undefined,
  texts: { a: string; b: string } | undefined,
  alpha: number,
  evalText: string,
): LiveLesson {
  const [answer, setAnswer] = useState<LiveLesson['answer']>();
  const [point, setPoint] = useState<LiveLesson['point']>();
  const [curve, setCurve] = useState<Curve>({ key: '', grid: [] });
  const [error, setError] = useState<string>();
  const key = ids ? `${ids[0]}|${ids[1]}` : '';
  const curveKey = `${key}|${setup?.query ?? ''}|${texts?.a ?? ''}|${texts?.b ?? ''}|${evalText}`;

  // The answer, then the cursor's numbers, at the exact α.
  useEffect(() => {
    if (!ids || !setup) return;
    let live = true;
    const t0 = performance.now();
    answerFrom(mixAt(ids[0], ids[1], alpha), setup.query, 'lesson-answer')
      .then(async (text) => {
        if (!live) return;
        setAnswer({ alpha, text, ms: performance.now() - t0 });
        const [p] = await answerCurve(
          ids,
          [alpha],
          setup.query,
          [setup.answerA, setup.answerB],
          evalText,
          'lesson-point',
        );
        if (live && p) setPoint({ ...asPoint(p), ms: performance.now() - t0 });
      })
      .catch((e: unknown) => {
        if (live && !isAbort(e)) setError(errorText(e));
      });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, setup, alpha, evalText]);

  // The grid, the answers at both ends and the baselines.
  useEffect(() => {
    if (!ids || !setup || !texts) return;
    let live = true;
    const update = (p: Partial<Curve>) =>
      live && setCurve((c) => (c.key === curveKey ? { ...c, ...p } : { key: curveKey, grid: [], ...p }));
    void (async () => {
      try {
        const a0 = await answerFrom(mixAt(ids[0], ids[1], 0), setup.query, 'lesson-end0');
        const a1 = await answerFrom(mixAt(ids[0], ids[1], 1), setup.query, 'lesson-end1');
        update({ ends: [a0, a1] });
        const points = await answerCurve(
          ids,
          ALPHA_GRID,
          setup.query,
          [setup.answerA, setup.answerB],
          evalText,
          'lesson-grid',
          (done, total) => update({ progress: { done, total } }),
        );
        update({ grid: points.map(asPoint), progress: undefined });
        if (!evalText.trim()) return;
        const zero = await perplexityFrom({ kind: 'zero' }, evalText, 'lesson-zero');
        const concat = await perplexityFrom(
          { kind: 'text', text: texts.a + CONCAT_SEPARATOR + texts.b },
          evalText,
          'lesson-concat',
        );
        update({ baselines: { zero, concat } });
      } catch (e) {
        if (live && !isAbort(e)) setError(errorText(e));
      }
    })();
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [curveKey]);

  const current: Curve = curve.key === curveKey ? curve : { key: curveKey, grid: [] };
  return {
    ...(answer ? { answer } : {}),
    ...(point ? { point } : {}),
    grid: current.grid,
    ...(current.progress ? { progress: current.progress } : {}),
    ...(current.ends ? { ends: current.ends } : {}),
    ...(current.baselines ? { baselines: current.baselines } : {}),
    ...(error ? { error } : {}),
  };
}
