/**
 * Studies through the engine service, as the app's Worker runs them (the bundled model served over HTTP,
 * Dawn's adapter): a study request reports progress, and `stopStudy` ends it early with the rows that had
 * finished and `complete: false` (the Studies view's Stop button), after which the service keeps working.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { parseTaskSuite, suiteTasks } from '../src/studies/tasks.ts';
import type { ModelSource } from '../src/worker/protocol.ts';
import { EngineService, type Call } from '../src/worker/service.ts';
import { readFileSync } from 'node:fs';
import { serveBundledModel, type HubServer } from './helpers/hub-server.ts';

const FOLDER = 'soup-mamba-4.6m';
const DIR = join(import.meta.dirname, '../public/models', FOLDER);
let server: HubServer;
let service: EngineService;

const call = (onProgress: (done: number) => void = () => {}): Call => ({
  signal: new AbortController().signal,
  progress: (_phase, done) => onProgress(done),
  token: () => {},
});

beforeAll(async () => {
  let source: ModelSource;
  ({ server, source } = await serveBundledModel(DIR, FOLDER));
  service = new EngineService({
    openDevice: openNodeDevice,
    openStore: () => Promise.reject(new Error('none')),
  });
  await service.handle({ type: 'load', id: 1, source, precision: 'f32' }, call());
});

afterAll(async () => {
  service?.dispose();
  await server?.close();
});

it('stopStudy keeps the finished rows of a running study', async () => {
  const suite = parseTaskSuite(JSON.parse(readFileSync(join(DIR, 'tasks.json'), 'utf8')));
  const tasks = suiteTasks(suite, ['uppercase'], 'tasks.json');
  const spec = { study: 'icl' as const, tasks, shots: [1, 2], states: 2, queries: 2, seed: 1 };
  let stopped = false;
  const reply = await service.handle(
    { type: 'study', id: 2, spec },
    call((done) => {
      // After the zero row (2 queries) and one more query: stop between units.
      if (done === 3 && !stopped) {
        stopped = true;
        void service.handle({ type: 'stopStudy', id: 3 }, call());
      }
    }),
  );
  expect(reply.type).toBe('studied');
  if (reply.type !== 'studied' || reply.result.study !== 'icl') throw new Error('not an icl reply');
  expect(reply.result.run.complete).toBe(false);
  expect(reply.result.rows.map((r) => `${r.shots} ${r.method}`)).toEqual(['0 zero']);
  expect(reply.result.run.model).toMatchObject({ id: FOLDER, dtype: 'f32' });

  const again = await service.handle(
    { type: 'study', id: 4, spec: { ...spec, shots: [1], queries: 1 } },
    call(),
  );
  if (again.type !== 'studied') throw new Error('no reply');
  expect(again.result.run.complete).toBe(true);
  expect(again.result.rows).toHaveLength(5);
});
