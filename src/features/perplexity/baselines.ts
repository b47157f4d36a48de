/**
 * Reference perplexities beside the live one: the zero state, each mixed state alone, the concatenated
 * texts read in one go, their mean and their A-decay composition. They do not depend on the weights, so they
 * are recomputed only when the mixed states or the evaluation text change.
 */
import { useEffect } from 'react';
import { useLibraryStore } from '../../stores/library.ts';
import { useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { baselinesChanged, type Baseline } from '../../stores/results.ts';
import { useSessionStore } from '../../stores/session.ts';
import { isAbort } from '../../worker/client.ts';
import type { MixRecipe, StartState } from '../../worker/protocol.ts';
import { engine, errorText } from '../model/engine.ts';
import { soloAndConcatenated } from '../mixer/comparisons.ts';

export function baselineStarts(
  ids: string[],
  names: Record<string, string>,
  texts: Record<string, string>,
  mixer: Pick<MixRecipe, 'parts' | 'profile'>,
) {
  const list: { label: string; start: StartState }[] = [{ label: 'Zero state', start: { kind: 'zero' } }];
  list.push(...soloAndConcatenated(ids.map((id) => ({ id, name: `${names[id]}`, text: texts[id] ?? '' }))));
  if (ids.length > 1) {
    const sources = ids.map((key) => ({ key, weight: 1 }));
    list.push({
      label: 'Mean',
      start: { kind: 'mix', recipe: { sources, mode: 'mean', normalize: false, ...mixer } },
    });
    list.push({
      label: 'A-decay',
      start: { kind: 'mix', recipe: { sources, mode: 'adecay', normalize: false, ...mixer } },
    });
  }
  return list;
}

export function useBaselines() {
  const ready = useModelStore((s) => s.status === 'ready');
  const text = useSessionStore((s) => s.evalText);
  const entries = useLibraryStore((s) => s.entries);
  const status = useLibraryStore((s) => s.status);
  const selected = useMixerStore((s) => s.selected);
  const parts = useMixerStore((s) => s.parts);
  const profile = useMixerStore((s) => s.profile);
  const allReady = selected.every((id) => status[id]?.kind === 'ready');
  const names = Object.fromEntries(entries.map((e) => [e.id, e.name]));
  const texts = Object.fromEntries(entries.map((e) => [e.id, e.text]));
  const key = JSON.stringify([selected, names, texts, parts, profile]);
  useEffect(() => {
    if (!ready || !allReady || !text.trim()) {
      engine().cancelLane('baseline');
      baselinesChanged([]);
      return;
    }
    const list = baselineStarts(selected, names, texts, { parts, profile });
    const rows: Baseline[] = list.map((b) => ({ label: b.label }));
    baselinesChanged(rows);
    let stopped = false;
    void (async () => {
      for (const [i, b] of list.entries()) {
        try {
          const r = await engine().request(
            'scored',
            { type: 'score', start: b.start, text },
            { lane: 'baseline' },
          );
          rows[i] = { label: b.label, perplexity: r.perplexity };
        } catch (e) {
          if (isAbort(e) || stopped) return;
          rows[i] = { label: b.label, error: errorText(e) };
        }
        if (stopped) return;
        baselinesChanged([...rows]);
      }
    })();
    return () => {
      stopped = true;
    };
    // `key` stands for the derived objects.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, allReady, text, key]);
}
