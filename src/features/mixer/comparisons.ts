/**
 * What the mix is compared with, defined once for the generation columns and the perplexity baselines: each
 * mixed state alone, and (for two or more, when every one was read from a text) their texts read in one go.
 */
import type { StartState } from '../../worker/protocol.ts';

/** How the concatenated context is formed: the texts in mixing order, separated by a blank line. */
export const CONCAT_SEPARATOR = '\n\n';

export interface Comparison {
  /** A stable key: the state's id, or 'concat'. */
  key: string;
  label: string;
  start: StartState;
}

export function soloAndConcatenated(mixed: { id: string; name: string; text: string }[]): Comparison[] {
  const list: Comparison[] = mixed.map((e) => ({
    key: e.id,
    label: `${e.name} alone`,
    start: { kind: 'stored', key: e.id },
  }));
  if (mixed.length > 1 && mixed.every((e) => e.text)) {
    list.push({
      key: 'concat',
      label: 'Concatenated texts',
      start: { kind: 'text', text: mixed.map((e) => e.text).join(CONCAT_SEPARATOR) },
    });
  }
  return list;
}
