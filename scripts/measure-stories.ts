/**
 * Measures every story step on a model folder and prints the StoryMeasures for src/features/stories/measured.ts
 * as JSON (one object keyed by story id). The states, mixes, queries and texts are the stories' own; the
 * tasks come from the folder's tasks.json or the bundled suite, as `soup study` takes them.
 *
 *   npx tsx scripts/measure-stories.ts public/models/soup-mamba2-4.5m
 */
import { openModelDir } from '../src/cli/model-dir.ts';
import { studyModelOf, taskSuiteFor } from '../src/cli/study-model.ts';
import { parseTaskSuite } from '../src/features/library/presets.ts';
import { measureStory } from '../src/features/stories/measureSteps.ts';
import type { StoryMeasures } from '../src/features/stories/measured.ts';
import { STORIES } from '../src/features/stories/stories.ts';
import { StudyRunner } from '../src/studies/context.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: measure-stories.ts MODEL_DIR');
const opened = await openModelDir(dir);
try {
  const suite = parseTaskSuite(taskSuiteFor(dir).suite);
  const runner = new StudyRunner(studyModelOf(opened), 0);
  const out: Record<string, StoryMeasures> = {};
  for (const story of STORIES) out[story.id] = await measureStory(runner, suite, story);
  console.log(JSON.stringify(out, null, 2));
} finally {
  opened.engine.destroy();
}
