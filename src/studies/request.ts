/**
 * A study as plain data (its name and settings) and its outcome, so it crosses the Worker boundary and is
 * saved as is: the app's engine service runs `runStudySpec`, the command line calls the same study functions.
 */
import type { StudyHooks, StudyModel } from './context.ts';
import { runChunked, type ChunkedResult, type ChunkedSettings } from './chunked.ts';
import { runIcl, type IclResult, type IclSettings } from './icl.ts';
import { runRetrieval, type RetrievalResult, type RetrievalSettings } from './retrieval.ts';
import { runSwitch, type SwitchResult, type SwitchSettings } from './switch.ts';

export type StudySpec =
  | ({ study: 'icl' } & IclSettings)
  | ({ study: 'chunked' } & ChunkedSettings)
  | ({ study: 'retrieval' } & RetrievalSettings)
  | ({ study: 'switch' } & SwitchSettings);

export type StudyOutcome =
  | ({ study: 'icl' } & IclResult)
  | ({ study: 'chunked' } & ChunkedResult)
  | ({ study: 'retrieval' } & RetrievalResult)
  | ({ study: 'switch' } & SwitchResult);

export async function runStudySpec(
  model: StudyModel,
  spec: StudySpec,
  hooks: StudyHooks,
): Promise<StudyOutcome> {
  switch (spec.study) {
    case 'icl':
      return { study: 'icl', ...(await runIcl(model, spec, hooks)) };
    case 'chunked':
      return { study: 'chunked', ...(await runChunked(model, spec, hooks)) };
    case 'retrieval':
      return { study: 'retrieval', ...(await runRetrieval(model, spec, hooks)) };
    case 'switch':
      return { study: 'switch', ...(await runSwitch(model, spec, hooks)) };
  }
}
