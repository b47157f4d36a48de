/**
 * The lesson's live numbers. At the exact α: the answer first (its own lane, so a newer α supersedes it), then
 * each task's answer probability and the evaluation text's perplexity (the chart's cursor). Over the α grid:
 * the same three curves, one point at a time so that an α change is never queued behind the whole grid, and
 * the baselines (zero state, the two prompts concatenated).
 */
import { useEffect, useState } from 'react';
import { isAbort } from '../../worker/client.ts';
import { errorText } from '../model/engine.ts';
import { CONCAT_SEPARATOR } from '../perplexity/baselines.ts';
import { ALPHA_GRID, type LessonSetup } from './lesson.ts';
import { answerFrom, answerProbability, mixAt, perplexityFrom } from './measure.ts';

export interface LessonPoint {
  alpha: number;
  pA: number;
  pB: number;
  perplexity: number;
}

interface Curve {
  key: string;
  grid: LessonPoint[];
  ends?: [string, string];
  baselines?: { zero: number; concat: number };
}

export interface LiveLesson {
  answer?: { alpha: number; text: string; ms: number };
  point?: LessonPoint & { ms: number };
  grid: LessonPoint[];
  /** Answers at α = 0 and α = 1 (whether α changes anything for this model). */
  ends?: [string, string];
  baselines?: { zero: number; concat: number };
  error?: string;
}

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
    const start = mixAt(ids[0], ids[1], alpha);
    const fail = (e: unknown) => {
      if (live && !isAbort(e)) setError(errorText(e));
    };
    answerFrom(start, setup.query, 'lesson-answer')
      .then(async (text) => {
        if (!live) return;
        setAnswer({ alpha, text, ms: performance.now() - t0 });
        const pA = await answerProbability(start, setup.query, setup.answerA, 'lesson-pA');
        const pB = await answerProbability(start, setup.query, setup.answerB, 'lesson-pB');
        const perplexity = evalText.trim() ? await perplexityFrom(start, evalText, 'lesson-ppl') : NaN;
        if (live) setPoint({ alpha, pA, pB, perplexity, ms: performance.now() - t0 });
      })
      .catch(fail);
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, setup, alpha, evalText]);

  // The grid and the baselines, once per pair of states, query and evaluation text.
  useEffect(() => {
    if (!ids || !setup || !texts) return;
    let live = true;
    const update = (p: Partial<Curve>) =>
      setCurve((c) => (c.key === curveKey ? { ...c, ...p } : { key: curveKey, grid: [], ...p }));
    void (async () => {
      try {
        const a0 = await answerFrom(mixAt(ids[0], ids[1], 0), setup.query, 'lesson-end0');
        const a1 = await answerFrom(mixAt(ids[0], ids[1], 1), setup.query, 'lesson-end1');
        if (!live) return;
        update({ ends: [a0, a1] });
        const points: LessonPoint[] = [];
        for (const alpha of ALPHA_GRID) {
          const start = mixAt(ids[0], ids[1], alpha);
          const pA = await answerProbability(start, setup.query, setup.answerA);
          const pB = await answerProbability(start, setup.query, setup.answerB);
          const perplexity = evalText.trim() ? await perplexityFrom(start, evalText) : NaN;
          if (!live) return;
          points.push({ alpha, pA, pB, perplexity });
          update({ grid: [...points] });
        }
        if (!evalText.trim()) return;
        const zero = await perplexityFrom({ kind: 'zero' }, evalText);
        const concat = await perplexityFrom(
          { kind: 'text', text: texts.a + CONCAT_SEPARATOR + texts.b },
          evalText,
        );
        if (live) update({ baselines: { zero, concat } });
      } catch (e) {
        if (live && !isAbort(e)) setError(errorText(e));
      }
    })();
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [curveKey]);

  const current = curve.key === curveKey ? curve : { grid: [] as LessonPoint[] };
  const { grid, ends, baselines } = current as Curve;
  return {
    ...(answer ? { answer } : {}),
    ...(point ? { point } : {}),
    grid,
    ...(ends ? { ends } : {}),
    ...(baselines ? { baselines } : {}),
    ...(error ? { error } : {}),
  };
}
