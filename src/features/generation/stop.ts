/**
 * Where generation stops besides its length: at the end of the line for a task query (`input->`, whose answer
 * is one line), at the end of the line always, never, or at a sequence the user types.
 */
import type { StopMode } from '../../stores/session.ts';

export type { StopMode };

export const STOP_LABELS: Record<StopMode, string> = {
  auto: 'End of line for task queries',
  line: 'End of line',
  none: 'Length only',
  custom: 'Custom sequence',
};

/** A task query: its last line is an input followed by the task separator, waiting for the output. */
export function isTaskQuery(query: string, separator = '->'): boolean {
  const last = query.split('\n').at(-1)!.trimEnd();
  return last.length > separator.length && last.endsWith(separator);
}

/** The stop sequence to send with a generation, or undefined for none. */
export function stopSequence(query: string, mode: StopMode, custom: string): string | undefined {
  switch (mode) {
    case 'auto':
      return isTaskQuery(query) ? '\n' : undefined;
    case 'line':
      return '\n';
    case 'none':
      return undefined;
    case 'custom':
      return custom === '' ? undefined : custom.replace(/\\n/g, '\n');
  }
}
