/**
 * Predict, then reveal: the learner writes down what the model will say after the mixed state before seeing
 * it. The continuations are generated as usual but kept covered until Reveal; then the guess is set beside
 * the mix's answer and, for a task preset's held-out query, the answer the task expects.
 */
import { create } from 'zustand';

interface PredictStore {
  on: boolean;
  guess: string;
  /** The guess as it was when Generate was pressed: what Reveal compares (editing it afterwards changes nothing). */
  locked: string;
  revealed: boolean;
  /** The answer a task preset's held-out query expects (shown only while the query is still that one). */
  expected?: { query: string; answer: string; task: string };
  set(p: Partial<Omit<PredictStore, 'set'>>): void;
}

export const usePredictStore = create<PredictStore>()((set) => ({
  on: false,
  guess: '',
  locked: '',
  revealed: false,
  set: (p) => set(p),
}));

/** The answer part of a continuation: up to the first line break (task lines are `input->output`). */
export function answerOf(continuation: string): string {
  return continuation.split('\n')[0]!.trim();
}

/** Whether two answers are the same: equal after trimming spaces (case counts: uppercase is a task). */
export function sameAnswer(a: string, b: string): boolean {
  const x = a.trim();
  return x.length > 0 && x === b.trim();
}
