/** Generation that stops on a text sequence (end of line for task answers), over an engine that stops on ids. */
import type { StepResult } from './backend.ts';

/**
 * Runs a generation that ends early once its text contains `stop`. The engine stops only on token ids or an
 * abort, so the stop aborts a signal of its own (linked to the caller's) and the steps up to and including the
 * one that completed the sequence are the result; an abort from the caller still rejects. `onStep` reports
 * whether a step is kept (steps the engine had in flight after the stop are not).
 */
export async function generateUntil(
  stop: string | undefined,
  outer: AbortSignal,
  run: (signal: AbortSignal, onStep: (s: StepResult, text: string) => boolean) => Promise<StepResult[]>,
): Promise<StepResult[]> {
  if (!stop) return run(outer, () => true);
  const inner = new AbortController();
  const forward = () => inner.abort();
  outer.addEventListener('abort', forward);
  const kept: StepResult[] = [];
  let text = '';
  let stopped = false;
  try {
    const steps = await run(inner.signal, (s, tokenText) => {
      if (stopped) return false;
      kept.push(s);
      text += tokenText;
      if (text.includes(stop)) {
        stopped = true;
        inner.abort();
      }
      return true;
    });
    return stopped ? kept : steps;
  } catch (e) {
    if (stopped && !outer.aborted) return kept;
    throw e;
  } finally {
    outer.removeEventListener('abort', forward);
  }
}
