/**
 * The stores' intent actions in Node (no DOM: zustand's vanilla API). Each test starts from the stores'
 * initial state. The selector tests check what a component subscribed through them would see: the
 * perplexity readout must not change while generation streams tokens.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { shallow } from 'zustand/shallow';
import {
  forgetMixed,
  moveMixed,
  recipeOf,
  selectMixSettings,
  setMixOptions,
  setMixWeight,
  setMixWeights,
  toggleMixed,
  useMixerStore,
} from '../src/stores/mixer.ts';
import {
  addEntry,
  removeEntry,
  renameEntry,
  replaceLibrary,
  selectReadyCount,
  setEntryStatus,
  setEntryTokenCount,
  useLibraryStore,
  type LibraryEntry,
} from '../src/stores/library.ts';
import {
  generationStarted,
  scoreArrived,
  scoreFailed,
  scoreIdle,
  scoreStarted,
  selectScore,
  selectSweep,
  sweepFinished,
  sweepStarted,
  tokenStreamed,
  useResultsStore,
  type ScoreView,
} from '../src/stores/results.ts';
import { DEFAULT_SAMPLING, setSampling, setSessionInputs, useSessionStore } from '../src/stores/session.ts';
import type { GeneratedToken } from '../src/worker/protocol.ts';
import { modelFailed, modelLoading, modelProgressed, useModelStore } from '../src/stores/model.ts';

beforeEach(() => {
  useMixerStore.setState(useMixerStore.getInitialState(), true);
  useLibraryStore.setState(useLibraryStore.getInitialState(), true);
  useResultsStore.setState(useResultsStore.getInitialState(), true);
  useSessionStore.setState(useSessionStore.getInitialState(), true);
  useModelStore.setState(useModelStore.getInitialState(), true);
});

const token = (id: number): GeneratedToken => ({ text: `t${id}`, id, prob: 0.5, top: [] });

const mixer = () => useMixerStore.getState();

describe('mixer actions', () => {
  it('gives a newly ticked state an equal share, and makes the first two an average', () => {
    toggleMixed('a', true);
    expect(mixer().weights).toEqual({ a: 1 });
    toggleMixed('b', true);
    expect(mixer().selected).toEqual(['a', 'b']);
    expect(mixer().weights).toEqual({ a: 0.5, b: 0.5 });
    toggleMixed('c', true);
    expect(mixer().weights['c']).toBeCloseTo(1 / 3, 12);
    expect(mixer().weights['a']).toBe(0.5); // a third state does not rescale the others
  });

  it('keeps an unticked state’s weight, so ticking it again restores it', () => {
    toggleMixed('a', true);
    toggleMixed('b', true);
    setMixWeight('b', 1.25);
    toggleMixed('b', false);
    expect(mixer().selected).toEqual(['a']);
    toggleMixed('b', true);
    expect(mixer().weights['b']).toBe(1.25);
  });

  it('ticking what is already ticked changes nothing (the same state object)', () => {
    toggleMixed('a', true);
    const before = mixer();
    toggleMixed('a', true);
    toggleMixed('z', false);
    expect(mixer()).toBe(before);
  });

  it('clamps weights to [−1, 2] and rounds them to 0.001', () => {
    setMixWeight('a', 5);
    setMixWeight('b', -3);
    setMixWeight('c', 0.12345);
    expect(mixer().weights).toEqual({ a: 2, b: -1, c: 0.123 });
    setMixWeights({ a: 0.3333333, d: -7 });
    expect(mixer().weights).toEqual({ a: 0.333, b: -1, c: 0.123, d: -1 });
  });

  it('moves a state in chunk order, and not past either end', () => {
    ['a', 'b', 'c'].forEach((id) => toggleMixed(id, true));
    moveMixed('c', -1);
    expect(mixer().selected).toEqual(['a', 'c', 'b']);
    moveMixed('a', -1);
    moveMixed('b', 1);
    moveMixed('nope', 1);
    expect(mixer().selected).toEqual(['a', 'c', 'b']);
  });

  it('forgets a deleted state’s selection and weight', () => {
    toggleMixed('a', true);
    toggleMixed('b', true);
    forgetMixed('a');
    expect(mixer().selected).toEqual(['b']);
    expect(mixer().weights).toEqual({ b: 0.5 });
  });

  it('turns the settings into the worker’s recipe, sources in chunk order', () => {
    toggleMixed('a', true);
    toggleMixed('b', true);
    setMixOptions({ mode: 'adecay', profile: 'late', parts: { ssm: true, conv: false } });
    moveMixed('b', -1);
    expect(recipeOf(selectMixSettings(mixer()))).toEqual({
      sources: [
        { key: 'b', weight: 0.5 },
        { key: 'a', weight: 0.5 },
      ],
      mode: 'adecay',
      normalize: false,
      parts: { ssm: true, conv: false },
      profile: 'late',
    });
  });

  it('the store’s methods do what the actions do (for call sites not yet moved)', () => {
    mixer().toggle('a', true);
    mixer().setWeight('a', 9);
    mixer().set({ normalize: true });
    expect(selectMixSettings(mixer())).toMatchObject({ selected: ['a'], weights: { a: 2 }, normalize: true });
  });
});

const entry = (id: string, name = id): LibraryEntry => ({
  id,
  name,
  text: `${id} text`,
  origin: 'text',
  createdAt: 1,
});

describe('library actions', () => {
  it('adds, renames and counts tokens of entries', () => {
    addEntry(entry('a'));
    addEntry(entry('b'));
    renameEntry('b', 'bee');
    setEntryTokenCount('a', 12);
    expect(useLibraryStore.getState().entries.map((e) => [e.id, e.name, e.tokenCount])).toEqual([
      ['a', 'a', 12],
      ['b', 'bee', undefined],
    ]);
  });

  it('removing an entry drops its status; replacing the library drops every status', () => {
    addEntry(entry('a'));
    addEntry(entry('b'));
    setEntryStatus('a', { kind: 'ready' });
    setEntryStatus('b', { kind: 'pending', done: 1, total: 3 });
    expect(selectReadyCount(useLibraryStore.getState())).toBe(1);
    removeEntry('a');
    expect(useLibraryStore.getState().status).toEqual({ b: { kind: 'pending', done: 1, total: 3 } });
    replaceLibrary([entry('c')]);
    expect(useLibraryStore.getState()).toMatchObject({ entries: [entry('c')], status: {} });
  });
});

const score: ScoreView = { tokens: [{ text: 'a', id: 1 }], nll: [], perplexity: 3.5, ms: 2 };

describe('results actions and selectors', () => {
  it('counts each score that arrives, and records failures and idle reasons', () => {
    scoreStarted();
    expect(useResultsStore.getState().scoreStatus).toBe('running');
    scoreArrived(score);
    scoreArrived(score);
    expect(useResultsStore.getState()).toMatchObject({ score, scoreStatus: 'done', scoreSeq: 2 });
    scoreFailed('boom');
    expect(useResultsStore.getState()).toMatchObject({ scoreStatus: 'error', scoreError: 'boom', score });
    scoreIdle('waiting');
    expect(useResultsStore.getState()).toMatchObject({ scoreStatus: 'idle', scoreError: 'waiting' });
    scoreStarted();
    expect(useResultsStore.getState().scoreError).toBeUndefined();
  });

  it('streams tokens into their own column only', () => {
    generationStarted([
      { key: 'mix', label: 'Mix', tokens: [], status: 'running' },
      { key: 'a', label: 'a alone', tokens: [], status: 'running' },
    ]);
    tokenStreamed('a', token(7));
    tokenStreamed('a', token(8));
    const [mix, a] = useResultsStore.getState().generation;
    expect(mix!.tokens).toEqual([]);
    expect(a!.tokens.map((t) => t.id)).toEqual([7, 8]);
  });

  it('the perplexity and sweep views see no change while tokens stream', () => {
    scoreArrived(score);
    generationStarted([{ key: 'mix', label: 'Mix', tokens: [], status: 'running' }]);
    let scoreChanges = 0;
    let sweepChanges = 0;
    let lastScore = selectScore(useResultsStore.getState());
    let lastSweep = selectSweep(useResultsStore.getState());
    // What useShallow does for a subscribed component: re-render only when the selection changes shallowly.
    const off = useResultsStore.subscribe((s) => {
      const sc = selectScore(s);
      const sw = selectSweep(s);
      if (!shallow(sc, lastScore)) scoreChanges++;
      if (!shallow(sw, lastSweep)) sweepChanges++;
      lastScore = sc;
      lastSweep = sw;
    });
    for (let i = 0; i < 20; i++) tokenStreamed('mix', token(i));
    expect([scoreChanges, sweepChanges]).toEqual([0, 0]);
    scoreArrived(score);
    sweepStarted(9);
    sweepFinished({ key: 'a', label: 'a', points: [{ alpha: 0, perplexity: 2 }] });
    off();
    expect([scoreChanges, sweepChanges]).toEqual([1, 2]);
  });
});

describe('session and model actions', () => {
  it('changes some sampling settings and keeps the others', () => {
    setSampling({ temperature: 0.7 });
    setSessionInputs({ query: 'Q', sideBySide: false });
    expect(useSessionStore.getState()).toMatchObject({
      query: 'Q',
      sideBySide: false,
      sampling: { ...DEFAULT_SAMPLING, temperature: 0.7 },
    });
  });

  it('a load clears what was loaded before; progress and failure are recorded', () => {
    useModelStore.setState({ status: 'ready', error: 'old' });
    modelLoading(undefined);
    expect(useModelStore.getState()).toMatchObject({ status: 'loading', error: undefined, info: undefined });
    modelProgressed('weights', 3, 10);
    expect(useModelStore.getState().progress).toEqual({ phase: 'weights', done: 3, total: 10 });
    modelFailed('no adapter');
    expect(useModelStore.getState()).toMatchObject({
      status: 'error',
      error: 'no adapter',
      progress: undefined,
    });
  });
});
