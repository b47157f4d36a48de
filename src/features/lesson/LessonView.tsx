/**
 * The lesson, the app's first view: one sentence, one slider α that mixes two task states as (1 − α)·A + α·B,
 * the model's answer at that α in large type, and a live chart against α of each task's answer probability and
 * an evaluation text's perplexity. It opens on the bundled model's uppercase ↔ plural switch on `trace->`,
 * computed as soon as the model is ready. The steps below it act: each sets up, asks, runs and shows.
 */
import { useEffect, useMemo, useState } from 'react';
import { useLibraryStore } from '../../stores/library.ts';
import { useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { useSessionStore } from '../../stores/session.ts';
import { WeightSlider } from '../mixer/WeightSlider.tsx';
import { loadDefaultModel } from '../model/engine.ts';
import { useShown, useViewStore } from '../present/view.ts';
import { useNavigation } from '../views/navigation.ts';
import { LessonChart } from './LessonChart.tsx';
import { LessonSteps } from './LessonSteps.tsx';
import { useLessonStates } from './useLessonStates.ts';
import { useLiveLesson } from './useLiveLesson.ts';

/** The evaluation text is re-scored once typing pauses, not at every key. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export function LessonView() {
  const { suite, setup, ids, bundled, noSuite, error: setupError } = useLessonStates();
  const present = useViewStore((s) => s.present);
  const showSteps = useShown('stories');
  const status = useModelStore((s) => s.status);
  const entries = useLibraryStore((s) => s.entries);
  const [alpha, setAlpha] = useState(0);
  const [evalDraft, setEvalDraft] = useState<string>();
  const evalText = useSettled(evalDraft ?? setup?.evalText ?? '', 400);
  const texts = useMemo(() => {
    const text = (id: string) => entries.find((e) => e.id === id)?.text;
    const a = ids && text(ids[0]);
    const b = ids && text(ids[1]);
    return a !== undefined && b !== undefined ? { a, b } : undefined;
  }, [ids, entries]);
  const live = useLiveLesson(ids, setup, texts, alpha, evalText);

  const answerAtAlpha = live.answer?.alpha === alpha ? live.answer : undefined;
  const pointAtAlpha = live.point?.alpha === alpha ? live.point : undefined;

  const openInLab = () => {
    if (!ids || !setup) return;
    const mixer = useMixerStore.getState();
    mixer.set({
      selected: ids,
      weights: { ...mixer.weights, [ids[0]]: 1 - alpha, [ids[1]]: alpha },
      mode: 'weighted',
      normalize: false,
      parts: { ssm: true, conv: true },
      profile: 'uniform',
    });
    useSessionStore.getState().set({ query: setup.query, evalText });
    useNavigation.getState().go('lab');
  };

  const nothingMoves = live.ends && live.ends[0] === live.ends[1];
  const error = setupError ?? live.error;
  return (
    <div className={`lesson-view${present ? ' lesson-present' : ''}`}>
      <section className="panel lesson" aria-labelledby="lesson-title">
        <h2 id="lesson-title">Lesson</h2>
        <p className="lesson-sentence">
          A recurrent model’s state after reading a few examples holds the task: mix the state of{' '}
          {setup ? `${setup.a.task} examples with the state of ${setup.b.task} examples` : 'two tasks'} by α
          and the same query gets one task’s answer or the other’s.
        </p>
        {noSuite && (
          <p className="hint">
            The lesson is made from the bundled model’s task examples (tasks.json), and this build’s bundled
            model has none. The Lab works with any model.
          </p>
        )}
        {!setup && !error && !noSuite && (
          <p className="hint">
            {status === 'ready' ? 'Reading the task examples…' : 'Waiting for the model…'}
          </p>
        )}
        {setup && (
          <div className="lesson-grid">
            <div className="lesson-control">
              <div className="lesson-alpha">
                <span className="lesson-end">
                  α = 0: {setup.a.task}
                  <br />
                  <span className="hint">{setup.answerA}</span>
                </span>
                <WeightSlider
                  label={`α, from ${setup.a.task} (0) to ${setup.b.task} (1)`}
                  value={alpha}
                  min={0}
                  max={1}
                  step={0.01}
                  onChange={setAlpha}
                />
                <span className="lesson-end">
                  α = 1: {setup.b.task}
                  <br />
                  <span className="hint">{setup.answerB}</span>
                </span>
              </div>
              <p className="lesson-alpha-value">
                α = <strong>{alpha.toFixed(2)}</strong>: {(1 - alpha).toFixed(2)} × {setup.a.task} state +{' '}
                {alpha.toFixed(2)} × {setup.b.task} state
              </p>
              <p className="lesson-query">
                Query <code>{setup.query}</code>
              </p>
              <output
                className={`lesson-answer${answerAtAlpha ? '' : ' lesson-answer-stale'}`}
                aria-label="Answer"
                aria-live="polite"
              >
                {live.answer ? live.answer.text || '(empty line)' : ids ? 'Computing…' : 'Making the states…'}
              </output>
              <p className="hint lesson-timing" aria-label="Latency">
                {answerAtAlpha && `answer in ${Math.round(answerAtAlpha.ms)} ms`}
                {pointAtAlpha && ` · chart in ${Math.round(pointAtAlpha.ms)} ms`}
              </p>
              {nothingMoves && (
                <p className="banner" role="note">
                  With this model, moving α changes nothing: the answer is “{live.ends![0]}” at both ends.
                  {!bundled && (
                    <>
                      {' '}
                      The lesson was made for the bundled model.{' '}
                      <button type="button" onClick={() => void loadDefaultModel()}>
                        Load the bundled model
                      </button>
                    </>
                  )}
                </p>
              )}
              {!present && (
                <button type="button" onClick={openInLab} disabled={!ids}>
                  Open this mix in the Lab
                </button>
              )}
            </div>
            <div className="lesson-effect">
              <LessonChart setup={setup} live={live} alpha={alpha} height={present ? 380 : 250} />
              <details className="lesson-eval" open={!present}>
                <summary>Evaluation text (held-out lines of both tasks)</summary>
                <textarea
                  aria-label="Lesson evaluation text"
                  rows={5}
                  value={evalDraft ?? setup.evalText}
                  onChange={(e) => setEvalDraft(e.target.value)}
                />
              </details>
            </div>
          </div>
        )}
        {error && <p className="error-text">{error}</p>}
      </section>
      {suite && showSteps && <LessonSteps suite={suite} />}
    </div>
  );
}
