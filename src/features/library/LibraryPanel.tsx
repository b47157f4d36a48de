/** The library of stored states: make one from a text, list, tick to mix, rename, delete, export, import. */
import { useState } from 'react';
import { newStateId } from '../../engine/states/types.ts';
import {
  addEntry,
  removeEntry,
  renameEntry,
  setEntryStatus,
  uniqueName,
  useLibraryStore,
  type LibraryEntry,
} from '../../stores/library.ts';
import { forgetMixed, setMixWeight, toggleMixed, useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { cancelCapture, captureEntry, captureRunKey, engine } from '../model/engine.ts';
import { LongRun } from '../progress/LongRun.tsx';
import { useRunsStore } from '../progress/runs.ts';
import { StateFiles } from './StateFiles.tsx';
import { Presets } from './Presets.tsx';
import { useShown } from '../present/view.ts';

function defaultName(text: string) {
  return text.trim().split(/\s+/).slice(0, 3).join(' ').slice(0, 24) || 'state';
}

export function LibraryPanel() {
  const [text, setText] = useState('');
  const [name, setName] = useState('');
  const entries = useLibraryStore((s) => s.entries);
  const status = useModelStore((s) => s.status);
  const showFiles = useShown('files');

  const save = () => {
    const entry: LibraryEntry = {
      id: newStateId(),
      name: uniqueName(name || defaultName(text), entries),
      text,
      origin: 'text',
      createdAt: Date.now(),
    };
    addEntry(entry);
    setText('');
    setName('');
    if (status === 'ready') void captureEntry(entry);
    else setEntryStatus(entry.id, { kind: 'pending', done: 0, total: 1 });
  };

  return (
    <section className="panel" aria-labelledby="library-title">
      <h2 id="library-title">States</h2>
      <form
        className="library-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) save();
        }}
      >
        <label className="field">
          <span>State text</span>
          <textarea
            aria-label="State text"
            rows={4}
            value={text}
            placeholder="Text the model reads from the zero state, e.g. a few input->output examples"
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <label className="field">
          <span>State name</span>
          <input
            aria-label="State name"
            value={name}
            placeholder={defaultName(text)}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <button type="submit" disabled={!text.trim()}>
          Save state
        </button>
        {status !== 'ready' && <span className="hint"> The state is computed once the model is ready.</span>}
      </form>
      <Presets />
      <ul className="library-list" aria-label="Stored states">
        {entries.map((e) => (
          <EntryRow key={e.id} entry={e} />
        ))}
      </ul>
      <UndoDelete />
      {entries.length === 0 && (
        <p className="hint">No stored states yet. Save one from a text above, or use a preset.</p>
      )}
      {showFiles && <StateFiles />}
    </section>
  );
}

let lastDeleted: { entry: LibraryEntry; mixed: boolean; weight?: number } | undefined;

function UndoDelete() {
  const entries = useLibraryStore((s) => s.entries);
  const status = useModelStore((s) => s.status);
  const d = lastDeleted;
  if (!d || entries.some((e) => e.id === d.entry.id)) return null;
  const undo = () => {
    lastDeleted = undefined;
    addEntry(d.entry);
    if (d.mixed) {
      toggleMixed(d.entry.id, true);
      if (d.weight !== undefined) setMixWeight(d.entry.id, d.weight);
    }
    if (status === 'ready') void captureEntry(d.entry);
  };
  return (
    <p className="hint" role="status">
      Deleted “{d.entry.name}”.{' '}
      <button type="button" onClick={undo}>
        Undo delete
      </button>
    </p>
  );
}

/** A long text's reading speed, time left and Cancel, beside the entry's progress bar. */
function CaptureRun({ entry }: { entry: LibraryEntry }) {
  const run = useRunsStore((s) => s.runs[captureRunKey(entry.id)]);
  if (!run) return null;
  return (
    <LongRun
      label={`Reading ${entry.name}`}
      progress={run}
      bar={false}
      onCancel={() => cancelCapture(entry.id)}
    />
  );
}

function EntryRow({ entry }: { entry: LibraryEntry }) {
  const st = useLibraryStore((s) => s.status[entry.id]);
  const mixed = useMixerStore((s) => s.selected.includes(entry.id));
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(entry.name);

  // No confirm dialog: deleting is undoable (the text is kept until another delete), see UndoDelete.
  const remove = () => {
    const m = useMixerStore.getState();
    lastDeleted = { entry, mixed: m.selected.includes(entry.id), weight: m.weights[entry.id] };
    forgetMixed(entry.id);
    removeEntry(entry.id);
    void engine()
      .request('done', { type: 'drop', key: entry.id })
      .catch(() => {});
  };
  const commitRename = () => {
    const entries = useLibraryStore.getState().entries.filter((x) => x.id !== entry.id);
    const n = draft.trim();
    if (n && n !== entry.name) {
      const name = uniqueName(n, entries);
      renameEntry(entry.id, name);
      void engine()
        .request('done', { type: 'rename', key: entry.id, name })
        .catch(() => {});
    }
    setEditing(false);
  };

  return (
    <li className="library-entry">
      <label className="library-mix">
        <input
          type="checkbox"
          aria-label={`Mix ${entry.name}`}
          checked={mixed}
          onChange={(e) => toggleMixed(entry.id, e.target.checked)}
        />
      </label>
      {editing ? (
        <input
          aria-label={`New name for ${entry.name}`}
          value={draft}
          autoFocus
          onChange={(e) => setDraft(e.target.value)}
          onBlur={commitRename}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commitRename();
            if (e.key === 'Escape') setEditing(false);
          }}
        />
      ) : (
        <span className="library-name" title={entry.text || 'imported state file'}>
          {entry.name}
        </span>
      )}
      <span className="library-meta">
        {st?.kind === 'pending' && (
          <progress aria-label={`Computing ${entry.name}`} value={st.done} max={Math.max(1, st.total)} />
        )}
        {st?.kind === 'pending' && <CaptureRun entry={entry} />}
        {st?.kind === 'error' && (
          <span className="error-text" role="alert">
            {st.message}
          </span>
        )}
        {st?.kind === 'ready' &&
          entry.tokenCount !== undefined &&
          entry.origin !== 'import' &&
          `${entry.tokenCount} tokens`}
        {entry.task && <span className="tag">{entry.task}</span>}
      </span>
      <span className="library-actions">
        <button
          type="button"
          aria-label={`Rename ${entry.name}`}
          onClick={() => (setDraft(entry.name), setEditing(true))}
        >
          Rename
        </button>
        <StateFiles.ExportButton entry={entry} ready={st?.kind === 'ready'} />
        <button type="button" aria-label={`Delete ${entry.name}`} onClick={remove}>
          Delete
        </button>
      </span>
    </li>
  );
}
