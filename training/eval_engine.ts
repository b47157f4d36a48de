/**
 * Cross-check of RESULTS.md through the app's own WebGPU engine (Dawn in Node; SwiftShader where there is no
 * GPU, which is slow: about 10 s per prompt for all three conditions). For the first N evaluation prompts of
 * each named task (training/results/eval_prompts.json) it measures greedy exact match for the 8-shot prompt,
 * the 2-shot prompt, and the mean of the four 2-shot states (SSM and conv state, per layer, averaged on the
 * host) continued with `query->`.
 *
 *   npx tsx training/eval_engine.ts [N=10] [TASK,...]   (default: the five named tasks)
 *
 * It also prints the 8-shot prompts it got wrong (query, expected, output).
 */
import { mixStatesCpu } from '../src/engine/states/cpuMix.ts';
import { planMix } from '../src/engine/states/mixSpec.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { evalPrompts, lines, openBundled } from './bundled.ts';

const NAMED = ['antonym', 'uppercase', 'capital', 'plural', 'past'];
const n = Number(process.argv[2] ?? 10);
const tasks = process.argv[3] ? process.argv[3].split(',') : NAMED;
const prompts = evalPrompts();
const { model, stateAfter, answer } = await openBundled();

const t0 = Date.now();
const totals = { shot8: 0, shot2: 0, soup: 0, count: 0 };
for (const task of tasks) {
  const acc = { shot8: 0, shot2: 0, soup: 0 };
  const wrong: string[] = [];
  const ps = prompts.filter((p) => p.task === task).slice(0, n);
  for (const p of ps) {
    const query = `${p.query[0]}->`;
    const zero = model.createState();
    const out8 = await answer(zero, lines(p.examples) + query);
    acc.shot8 += +(out8 === p.query[1]);
    if (out8 !== p.query[1]) wrong.push(`${p.query[0]}->${p.query[1]} (got ${JSON.stringify(out8)})`);
    acc.shot2 += +((await answer(zero, lines(p.examples.slice(0, 2)) + query)) === p.query[1]);
    const states: MambaState[] = [];
    for (let i = 0; i < 4; i++) states.push(await stateAfter(lines(p.examples.slice(2 * i, 2 * i + 2))));
    const mixed = model.createState();
    // The playground's mean (the CPU reference of its GPU mixer).
    model.writeState(mixed, mixStatesCpu(states, planMix({ mode: 'mean' }, 4, states[0]!.layers.length)));
    acc.soup += +((await answer(mixed, query)) === p.query[1]);
    mixed.destroy();
    zero.destroy();
  }
  totals.shot8 += acc.shot8;
  totals.shot2 += acc.shot2;
  totals.soup += acc.soup;
  totals.count += ps.length;
  console.log(
    `${task.padEnd(10)} n=${ps.length}  8-shot ${acc.shot8}/${ps.length}  2-shot ${acc.shot2}/${ps.length}  ` +
      `mean of four 2-shot states ${acc.soup}/${ps.length}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
  if (wrong.length) console.log(`  8-shot wrong: ${wrong.join(', ')}`);
}
const pct = (x: number) => `${((100 * x) / totals.count).toFixed(1)} %`;
console.log(
  `${tasks.join(', ')}: ${totals.count} prompts: 8-shot ${pct(totals.shot8)}, 2-shot ${pct(totals.shot2)}, ` +
    `mean of four 2-shot states ${pct(totals.soup)}`,
);
model.destroy();
process.exit(0);
