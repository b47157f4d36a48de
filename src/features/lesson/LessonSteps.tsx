/**
 * Stories as steps that act. A step says what it sets up and asks for a guess; Run makes its states, mixes
 * them, computes the answer or the perplexity live and only then shows it beside what the step says this model
 * does, and whether the guess held. Next moves on to the next step's question. Guesses are kept for the visit.
 */
import { useState } from 'react';
import { bundledLabel, type BundledManifest } from '../../model/sources.ts';
import { useModelStore } from '../../stores/model.ts';
import { isAbort } from '../../worker/client.ts';
import { errorText } from '../model/engine.ts';
import type { TaskSuite } from '../library/presets.ts';
import { measuredSentence, measuresOf } from '../stories/measured.ts';
import { STORIES } from '../stories/stories.ts';
import { guessHeld, runStep, type StepResult } from './runStep.ts';

/**
 * The stories' sentences were measured on the manifest's default model (a Mamba-1): with another model loaded
 * (the bundled Mamba-2, a hub model) they are that model's, named, not this one's. undefined: it is loaded.
 */
function storiesMeasuredOn(
  manifest: BundledManifest | undefined,
  loaded: string | undefined,
): string | undefined {
  const def = manifest?.models.find((m) => m.id === manifest.default || m.folder === manifest.default);
  if (!def || !loaded || def.id === loaded) return undefined;
  return `the default model, ${def.id} (${bundledLabel(def)}),`;
}

interface StepRecord {
  guess: string;
  result: StepResult;
  held?: boolean;
}

export function LessonSteps({ suite }: { suite: TaskSuite }) {
  const ready = useModelStore((s) => s.status === 'ready');
  const measuredOn = useModelStore((s) => storiesMeasuredOn(s.manifest, s.info?.id));
  const loadedId = useModelStore((s) => s.info?.id);
  const [storyId, setStoryId] = useState(STORIES[0]!.id);
  const [at, setAt] = useState(0);
  const [guess, setGuess] = useState('');
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string>();
  const [records, setRecords] = useState<Record<string, StepRecord>>({});
  const story = STORIES.find((s) => s.id === storyId) ?? STORIES[0]!;
  const step = story.steps[at]!;
  const last = story.steps.length - 1;
  const recordKey = `${story.id}/${at}`;
  const done = records[recordKey];
  const asksNumber = step.query === undefined && step.evalText !== undefined;
  // The loaded model's own measured figures, where scripts/measure-stories.ts recorded them (the Mamba-2).
  const own = measuredOn ? measuresOf(loadedId, story.id) : undefined;

  const go = (i: number) => {
    setAt(i);
    setGuess('');
    setError(undefined);
  };
  const run = async () => {
    setRunning(true);
    setError(undefined);
    try {
      const result = await runStep(suite, story, step);
      const g = guess.trim();
      setRecords((r) => ({
        ...r,
        [recordKey]: { guess: g, result, ...(g ? { held: guessHeld(g, result) } : {}) },
      }));
    } catch (e) {
      if (!isAbort(e)) setError(errorText(e));
    } finally {
      setRunning(false);
    }
  };
  const guessed = Object.values(records).filter((r) => r.held !== undefined);

  return (
    <section className="panel stories lesson-steps" aria-labelledby="stories-title">
      <h2 id="stories-title">Stories</h2>
      <label className="field">
        <span>Story</span>
        <select
          aria-label="Story"
          value={story.id}
          onChange={(e) => {
            setStoryId(e.target.value);
            go(0);
          }}
        >
          {STORIES.map((s) => (
            <option key={s.id} value={s.id}>
              {s.title}
            </option>
          ))}
        </select>
      </label>
      <p className="hint">{story.summary}</p>
      <ol className="story-steps" aria-label="Story steps">
        {story.steps.map((s, i) => (
          <li key={s.title}>
            <button
              type="button"
              className="story-step-link"
              aria-current={i === at ? 'step' : undefined}
              onClick={() => go(i)}
            >
              {s.title}
            </button>
          </li>
        ))}
      </ol>
      <div className="story-step" role="group" aria-label={`Step ${at + 1} of ${last + 1}: ${step.title}`}>
        <h3>
          Step {at + 1} of {last + 1}: {step.title}
        </h3>
        <p>{step.look}</p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <label className="field">
            <span>
              {asksNumber ? 'Your guess: the perplexity' : `Your guess: the answer to ${step.query ?? ''}`}
            </span>
            <input
              aria-label="Your guess"
              value={guess}
              inputMode={asksNumber ? 'decimal' : 'text'}
              onChange={(e) => setGuess(e.target.value)}
            />
          </label>
          <button type="submit" disabled={!ready || running}>
            {running ? 'Running…' : 'Run this step'}
          </button>
        </form>
        {done && (
          <div className="story-result" role="status" aria-label="Step result">
            <p>
              {done.result.answer !== undefined && (
                <>
                  The model answers{' '}
                  <strong className="story-answer">{done.result.answer || '(empty)'}</strong>
                </>
              )}
              {done.result.perplexity !== undefined && (
                <>
                  Perplexity <strong className="story-perplexity">{done.result.perplexity.toFixed(2)}</strong>
                </>
              )}{' '}
              <span className="hint">(measured now, {Math.round(done.result.ms)} ms)</span>
            </p>
            {done.held !== undefined && (
              <p className={done.held ? 'guess-held' : 'guess-missed'}>
                Your guess “{done.guess}” {done.held ? 'held.' : 'did not hold.'}
              </p>
            )}
            {own && (
              <p className="story-own">
                <strong>What {loadedId} does here (measured on it):</strong>{' '}
                {measuredSentence(story, at, own)}
              </p>
            )}
            <p>
              <strong>
                {measuredOn ? `What ${measuredOn} does here (measured on it):` : 'What this model does here:'}
              </strong>{' '}
              {step.expect}
            </p>
          </div>
        )}
        <div className="row">
          <button type="button" onClick={() => go(at - 1)} disabled={at === 0}>
            Back
          </button>
          <button type="button" onClick={() => go(at + 1)} disabled={at === last}>
            Next
          </button>
          {guessed.length > 0 && (
            <span className="hint" aria-label="Guesses">
              Your guesses: {guessed.filter((r) => r.held).length} of {guessed.length} held.
            </span>
          )}
        </div>
      </div>
      {error && <p className="error-text">{error}</p>}
    </section>
  );
}
