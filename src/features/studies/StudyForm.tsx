/** The Studies form: which study, its tasks (the suite's or the user's own lines) and its settings. */
import type { TaskSuite } from '../../studies/tasks.ts';
import type { FormState, StudyKind } from './studyForm.ts';

const STUDIES: { kind: StudyKind; label: string }[] = [
  { kind: 'icl', label: 'ICL mixing' },
  { kind: 'chunked', label: 'Chunked context' },
  { kind: 'retrieval', label: 'Retrieval' },
  { kind: 'switch', label: 'Task switch' },
];

export function StudyForm({
  form,
  set,
  suite,
  disabled,
}: {
  form: FormState;
  set: (p: Partial<FormState>) => void;
  suite?: TaskSuite;
  disabled: boolean;
}) {
  const names = suite?.tasks.map((t) => t.name) ?? [];
  const field = (key: keyof FormState, label: string, hint?: string) => (
    <label className="study-field">
      {label}{' '}
      <input
        value={form[key] as string}
        onChange={(e) => set({ [key]: e.target.value })}
        disabled={disabled}
        size={10}
      />
      {hint && <small> {hint}</small>}
    </label>
  );
  const taskPicker = (
    <fieldset className="study-tasks" disabled={disabled}>
      <legend>Tasks</legend>
      <label>
        <input
          type="radio"
          checked={form.taskSource === 'suite'}
          onChange={() => set({ taskSource: 'suite' })}
        />{' '}
        from the task suite
      </label>{' '}
      <label>
        <input type="radio" checked={form.taskSource === 'own'} onChange={() => set({ taskSource: 'own' })} />{' '}
        my own input-&gt;output lines
      </label>
      {form.taskSource === 'suite' ? (
        <div className="study-task-list">
          {names.map((n) => (
            <label key={n}>
              <input
                type="checkbox"
                checked={form.tasks.includes(n)}
                onChange={(e) =>
                  set({ tasks: e.target.checked ? [...form.tasks, n] : form.tasks.filter((t) => t !== n) })
                }
              />{' '}
              {n}
            </label>
          ))}
        </div>
      ) : (
        <div>
          {field('ownName', 'Task name')}
          <label className="study-field">
            Lines (one input-&gt;output per line; split by the seed into examples and queries)
            <textarea
              rows={6}
              value={form.ownLines}
              onChange={(e) => set({ ownLines: e.target.value })}
              placeholder={'hot->cold\nbig->small\n…'}
            />
          </label>
        </div>
      )}
    </fieldset>
  );
  return (
    <div className="study-form">
      <fieldset disabled={disabled}>
        <legend>Study</legend>
        {STUDIES.map((s) => (
          <label key={s.kind}>
            <input
              type="radio"
              name="study"
              checked={form.study === s.kind}
              onChange={() => set({ study: s.kind })}
            />{' '}
            {s.label}
          </label>
        ))}
      </fieldset>
      {form.study === 'icl' && (
        <>
          {taskPicker}
          {field('shots', 'Shots k', 'comma-separated')}
          {field('states', 'States M')}
          {field('queries', 'Queries')}
        </>
      )}
      {form.study === 'chunked' && (
        <>
          <label className="study-field">
            Document (its last tokens are the continuation scored)
            <textarea
              rows={6}
              value={form.document}
              onChange={(e) => set({ document: e.target.value })}
              disabled={disabled}
            />
          </label>
          {field('chunks', 'Chunks K', 'comma-separated')}
          {field('continuation', 'Continuation tokens')}
        </>
      )}
      {form.study === 'retrieval' && (
        <>
          {taskPicker}
          {field('libraryShots', 'Library shots m')}
          {field('queryShots', 'Query shots', 'comma-separated')}
          {field('queries', 'Queries per task')}
        </>
      )}
      {form.study === 'switch' && (
        <>
          <label className="study-field">
            Task A{' '}
            <select
              value={form.switchA}
              onChange={(e) => set({ switchA: e.target.value })}
              disabled={disabled}
            >
              {names.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
          <label className="study-field">
            Task B{' '}
            <select
              value={form.switchB}
              onChange={(e) => set({ switchB: e.target.value })}
              disabled={disabled}
            >
              {names.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
          {field('alphas', 'α grid', 'start:stop:count')}
          {field('switchShots', 'Shots per task')}
          {field('queries', 'Queries')}
        </>
      )}
      {field('seed', 'Seed')}
    </div>
  );
}
