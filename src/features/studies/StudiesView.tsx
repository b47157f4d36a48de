/**
 * The Studies view: the paper's experiments over many prompts on the loaded model. Runs in the engine worker
 * with progress and an ETA, can be stopped (the finished rows are kept), and every run is saved in IndexedDB,
 * listed, reopened and exported as CSV or JSON (the command line's shape, `soup study … --json`).
 */
import { useCallback, useEffect, useState } from 'react';
import { useModelStore } from '../../stores/model.ts';
import { StudyRunStore, type SavedStudySummary } from '../../storage/studyRuns.ts';
import type { StudyOutcome } from '../../studies/request.ts';
import { engine, errorText } from '../model/engine.ts';
import { download, studyCsv, studyFileName, studyJson } from './exportStudy.ts';
import { StudyCharts } from './StudyCharts.tsx';
import { StudyForm } from './StudyForm.tsx';
import { INITIAL_FORM, specOf, titleOf, type FormState } from './studyForm.ts';
import { StudyTable } from './StudyTable.tsx';
import { useStudySuite } from './useStudySuite.ts';

interface Progress {
  done: number;
  total: number;
  label: string;
  started: number;
  now: number;
}

let store: Promise<StudyRunStore | undefined> | undefined;
const runs = () => (store ??= StudyRunStore.open().catch(() => undefined));

function eta(p: Progress): string {
  if (p.done === 0) return '';
  const left = ((p.now - p.started) / p.done) * (p.total - p.done);
  return left < 60_000
    ? `, about ${Math.ceil(left / 1000)} s left`
    : `, about ${Math.ceil(left / 60_000)} min left`;
}

export function StudiesView() {
  const info = useModelStore((s) => s.info);
  const ready = useModelStore((s) => s.status === 'ready');
  const { suite, label, error: suiteError } = useStudySuite();
  const [form, setForm] = useState<FormState>(INITIAL_FORM);
  const [progress, setProgress] = useState<Progress>();
  const [outcome, setOutcome] = useState<StudyOutcome>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<SavedStudySummary[]>([]);
  const [note, setNote] = useState<string>();
  const running = progress !== undefined;

  const refresh = useCallback(async () => {
    const s = await runs();
    if (s) setSaved(await s.list());
  }, []);
  useEffect(() => {
    let live = true;
    void runs()
      .then((s) => s?.list())
      .then((list) => live && list && setSaved(list));
    return () => {
      live = false;
    };
  }, []);

  const run = async () => {
    setError(undefined);
    setNote(undefined);
    let spec;
    try {
      spec = specOf(form, suite, label);
    } catch (e) {
      setError(errorText(e));
      return;
    }
    const started = Date.now();
    setProgress({ done: 0, total: 1, label: 'Starting', started, now: started });
    try {
      const r = await engine().request(
        'studied',
        { type: 'study', spec },
        { onProgress: (l, done, total) => setProgress({ done, total, label: l, started, now: Date.now() }) },
      );
      setOutcome(r.result);
      const s = await runs();
      if (s) {
        await s.save({
          id: crypto.randomUUID(),
          savedAt: Date.now(),
          title: titleOf(spec),
          outcome: r.result,
        });
        await refresh();
      } else {
        setNote('This browser’s storage is unavailable, so the run is not saved; export it to keep it.');
      }
    } catch (e) {
      setError(errorText(e));
    } finally {
      setProgress(undefined);
    }
  };

  const stop = () =>
    void engine()
      .request('done', { type: 'stopStudy' })
      .catch(() => undefined);

  const reopen = async (id: string) => {
    const s = await runs();
    const r = await s?.load(id);
    if (r) setOutcome(r.outcome);
  };
  const remove = async (id: string) => {
    const s = await runs();
    await s?.delete(id);
    await refresh();
  };

  return (
    <section className="panel studies" aria-labelledby="studies-title">
      <h2 id="studies-title">Studies</h2>
      <p className="hint studies-model">
        Model in use: <strong>{info ? `${info.id} (${info.precision}, ${info.adapter})` : 'loading…'}</strong>
        . The paper (Pióro et al., 2024) used <strong>Mamba-2.8b</strong>; results on another model show what
        that model does, not what the paper found.
      </p>
      {suiteError && <p role="alert">{suiteError}</p>}
      <StudyForm form={form} set={(p) => setForm((f) => ({ ...f, ...p }))} suite={suite} disabled={running} />
      <div className="row">
        <button type="button" onClick={() => void run()} disabled={!ready || running}>
          Run study
        </button>
        <button type="button" onClick={stop} disabled={!running}>
          Stop (keep finished rows)
        </button>
      </div>
      {progress && (
        <p className="study-progress" role="status">
          <progress value={progress.done} max={progress.total} /> {progress.done}/{progress.total}
          {eta(progress)}: {progress.label}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {note && <p className="hint">{note}</p>}
      {outcome && (
        <div className="study-result" data-testid="study-result">
          <h3>
            {outcome.study} on {outcome.run.model.id}, seed {outcome.run.seed}
            {outcome.run.complete ? '' : ' (stopped: the rows that finished)'}
          </h3>
          <p className="hint">
            {outcome.run.model.adapter}, {outcome.run.model.dtype}, {(outcome.run.wallMs / 1000).toFixed(1)}{' '}
            s; sources: {outcome.run.sources.map((s) => `${s.name} (${s.source})`).join(', ')}. Intervals are
            95 % Wilson.
          </p>
          <StudyCharts outcome={outcome} />
          <StudyTable outcome={outcome} />
          <div className="row">
            <button
              type="button"
              onClick={() => download(studyJson(outcome), studyFileName(outcome, 'json'), 'application/json')}
            >
              Export JSON
            </button>
            <button
              type="button"
              onClick={() => download(studyCsv(outcome), studyFileName(outcome, 'csv'), 'text/csv')}
            >
              Export CSV
            </button>
          </div>
        </div>
      )}
      <h3>Saved runs</h3>
      {saved.length === 0 ? (
        <p className="hint">No saved runs yet; each run is saved here when it ends.</p>
      ) : (
        <ul className="study-saved">
          {saved.map((s) => (
            <li key={s.id}>
              {s.title} — {s.modelId}, {new Date(s.savedAt).toLocaleString()}
              {s.complete ? '' : ' (stopped)'}{' '}
              <button type="button" onClick={() => void reopen(s.id)}>
                Open
              </button>{' '}
              <button type="button" onClick={() => void remove(s.id)} aria-label={`Delete ${s.title}`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
