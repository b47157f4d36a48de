/**
 * Mixing states of two different tasks, through the app's WebGPU engine: for held-out nouns (the plural
 * task's evaluation queries) continue `noun->` from (1 - α)·S_A + α·S_B, where S_A and S_B are the states after
 * two examples of task A and of task B (examples from the evaluation prompts), and classify the greedy answer
 * as A's answer, B's answer, both composed (e.g. `ANTS` for uppercase + plural), or other.
 * Mixing is the paper's weighted sum of the whole state (SSM, conv, and dt sums), done on the host.
 *
 *   npx tsx training/cross_task.ts [N=50]
 */
import { mixStatesCpu } from '../src/engine/states/cpuMix.ts';
import { planMix } from '../src/engine/states/mixSpec.ts';
import { evalPrompts, lines, openBundled } from './bundled.ts';

const n = Number(process.argv[2] ?? 50);
const ALPHAS = [0, 0.25, 0.5, 0.75, 1];
const prompts = evalPrompts();

/** Each experiment: two tasks and how to compose their answers for a noun. */
const EXPERIMENTS: {
  a: string;
  b: string;
  both: (noun: string, plural: string) => string;
  answer: Record<string, (noun: string, plural: string) => string>;
}[] = [
  {
    a: 'uppercase',
    b: 'plural',
    both: (_w, p) => p.toUpperCase(),
    answer: { uppercase: (w) => w.toUpperCase(), plural: (_w, p) => p },
  },
  {
    a: 'capitalize',
    b: 'plural',
    both: (_w, p) => p[0]!.toUpperCase() + p.slice(1),
    answer: { capitalize: (w) => w[0]!.toUpperCase() + w.slice(1), plural: (_w, p) => p },
  },
];

const { model, stateAfter, answer } = await openBundled();

const queries = prompts.filter((p) => p.task === 'plural').slice(0, n);
for (const ex of EXPERIMENTS) {
  const exA = prompts.filter((p) => p.task === ex.a);
  const exB = prompts.filter((p) => p.task === ex.b);
  const counts = ALPHAS.map(() => ({ a: 0, b: 0, both: 0, other: 0 }));
  const samples: string[] = [];
  for (const [qi, q] of queries.entries()) {
    const [noun, plural] = q.query;
    // Two examples of each task, from evaluation prompts other than this query's.
    const sa = await stateAfter(lines(exA[(qi + 1) % exA.length]!.examples.slice(0, 2)));
    const sb = await stateAfter(lines(exB[(qi + 1) % exB.length]!.examples.slice(0, 2)));
    for (const [k, alpha] of ALPHAS.entries()) {
      const s = model.createState();
      // The playground's weighted sum (the CPU reference of its GPU mixer), of the whole state.
      model.writeState(
        s,
        mixStatesCpu(
          [sa, sb],
          planMix({ mode: 'weighted', weights: [1 - alpha, alpha] }, 2, sa.layers.length),
        ),
      );
      const out = await answer(s, `${noun}->`);
      s.destroy();
      const c = counts[k]!;
      if (out === ex.both(noun, plural)) c.both++;
      else if (out === ex.answer[ex.a]!(noun, plural)) c.a++;
      else if (out === ex.answer[ex.b]!(noun, plural)) c.b++;
      else c.other++;
      if (qi < 3) samples.push(`α=${alpha} ${noun}->${out}`);
    }
  }
  console.log(`\n${ex.a} (α = 0) → ${ex.b} (α = 1), ${queries.length} held-out nouns:`);
  console.log('| α | ' + ex.a + ' | ' + ex.b + ' | both | other |');
  for (const [k, alpha] of ALPHAS.entries()) {
    const c = counts[k]!;
    console.log(`| ${alpha} | ${c.a} | ${c.b} | ${c.both} | ${c.other} |`);
  }
  console.log('samples: ' + samples.join(', '));
}
model.destroy();
process.exit(0);
