/**
 * Keeps the perplexity of the evaluation text under the current mix up to date. Every change of the mix or
 * the text sends a new request on the 'score' lane, which cancels the one in flight: while a slider is
 * dragged the worker always works on the newest weights and never on a queue of stale ones.
 */
import { useEffect } from 'react';
import { useLibraryStore } from '../../stores/library.ts';
import { recipeOf, useMixSettings } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { scoreArrived, scoreFailed, scoreIdle, scoreStarted } from '../../stores/results.ts';
import { useSessionStore } from '../../stores/session.ts';
import { isAbort } from '../../worker/client.ts';
import type { StartState } from '../../worker/protocol.ts';
import { engine, errorText } from '../model/engine.ts';
import { endRun, reportRun, startRun } from '../progress/runs.ts';

export const SCORE_RUN = 'score';

/** Stops scoring the evaluation text (its Cancel button); editing the text or the mix scores again. */
export function cancelScore(): void {
  engine().cancelLane('score');
  scoreIdle('Scoring cancelled. Change the evaluation text or the mix to score again.');
}

/** The start state of the current mix, or why there is none yet. */
export function useMixStart(): { start?: StartState; waiting?: string } {
  const mixer = useMixSettings();
  const status = useLibraryStore((s) => s.status);
  const notReady = mixer.selected.filter((id) => status[id]?.kind !== 'ready');
  if (notReady.length > 0) return { waiting: 'Waiting for the mixed states to be computed…' };
  if (mixer.selected.length === 0) return { start: { kind: 'zero' } };
  if (mixer.mode === 'weighted' && mixer.normalize) {
    const sum = mixer.selected.reduce((a, id) => a + (mixer.weights[id] ?? 0), 0);
    if (Math.abs(sum) < 1e-9) return { waiting: 'The weights sum to zero, so they cannot be normalised.' };
  }
  return { start: { kind: 'mix', recipe: recipeOf(mixer) } };
}

export function useLiveScore() {
  const ready = useModelStore((s) => s.status === 'ready');
  const text = useSessionStore((s) => s.evalText);
  const { start, waiting } = useMixStart();
  const key = JSON.stringify(start);
  useEffect(() => {
    if (!ready || !start || text.trim().length === 0) {
      engine().cancelLane('score');
      scoreIdle(waiting);
      return;
    }
    scoreStarted();
    const ticket = startRun(SCORE_RUN);
    engine()
      .request(
        'scored',
        { type: 'score', start, text },
        { lane: 'score', onProgress: (_p, done, total) => reportRun(SCORE_RUN, ticket, done, total) },
      )
      .then(scoreArrived)
      .catch((e: unknown) => {
        if (isAbort(e)) return;
        scoreFailed(errorText(e));
      })
      .finally(() => endRun(SCORE_RUN, ticket));
    // `key` stands for `start` (a new object each render).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, key, text, waiting]);
}
