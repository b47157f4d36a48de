/**
 * Task presets from the bundled model's tasks.json: k-shot prompts (`input->output` lines, the format the
 * model was trained on) made from disjoint example sets, several per task, as the paper's skill library does.
 * The sets are drawn with a fixed seed so the same preset gives the same texts (and share links stay short).
 */
export interface TaskSuite {
  separator: string;
  tasks: {
    name: string;
    kind: string;
    description: string;
    train: [string, string][];
    heldout: [string, string][];
  }[];
}

export function parseTaskSuite(raw: unknown): TaskSuite {
  const o = raw as Partial<TaskSuite> | null;
  if (!o || !Array.isArray(o.tasks) || typeof o.separator !== 'string') {
    throw new Error('tasks.json is not a task suite ({separator, tasks}).');
  }
  return o as TaskSuite;
}

function shuffled<T>(items: T[], seed: number): T[] {
  const a = items.slice();
  let s = seed >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export function exampleLines(pairs: [string, string][], sep: string): string {
  return pairs.map(([a, b]) => `${a}${sep}${b}\n`).join('');
}

/** `count` prompts of `shots` examples each, from disjoint training examples of the task. */
export function taskPrompts(suite: TaskSuite, task: string, shots: number, count: number): string[] {
  const t = suite.tasks.find((x) => x.name === task);
  if (!t) throw new Error(`tasks.json has no task "${task}".`);
  const pool = shuffled(t.train, 1234 + task.length);
  const n = Math.min(count, Math.floor(pool.length / shots));
  return Array.from({ length: n }, (_, i) =>
    exampleLines(pool.slice(i * shots, (i + 1) * shots), suite.separator),
  );
}

/**
 * A held-out query (`input->`), the answer it expects, and an evaluation text of other held-out examples of
 * the task.
 */
export function heldOut(
  suite: TaskSuite,
  task: string,
  n = 8,
): { query: string; answer: string; evalText: string } {
  const t = suite.tasks.find((x) => x.name === task)!;
  const pairs = shuffled(t.heldout, 99).slice(0, n + 1);
  const [first, ...rest] = pairs;
  return {
    query: first ? `${first[0]}${suite.separator}` : '',
    answer: first ? first[1] : '',
    evalText: exampleLines(rest, suite.separator),
  };
}
