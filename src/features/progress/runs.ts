/**
 * Progress of the long runs in flight, by key ('score', 'capture:<entry id>'), for the LongRun line. Each
 * start returns a ticket; a superseded run's late end (its abort) does not clear its successor's progress.
 */
import { create } from 'zustand';
import type { RunProgress } from './rate.ts';

interface RunsStore {
  runs: Record<string, RunProgress & { ticket: number }>;
}

export const useRunsStore = create<RunsStore>()(() => ({ runs: {} }));

let tickets = 0;

export function startRun(key: string): number {
  const ticket = ++tickets;
  useRunsStore.setState((s) => ({
    runs: { ...s.runs, [key]: { done: 0, total: 0, startedAt: performance.now(), ticket } },
  }));
  return ticket;
}

export function reportRun(key: string, ticket: number, done: number, total: number): void {
  useRunsStore.setState((s) => {
    const r = s.runs[key];
    return r?.ticket === ticket ? { runs: { ...s.runs, [key]: { ...r, done, total } } } : s;
  });
}

export function endRun(key: string, ticket: number): void {
  useRunsStore.setState((s) => {
    if (s.runs[key]?.ticket !== ticket) return s;
    const runs = { ...s.runs };
    delete runs[key];
    return { runs };
  });
}
