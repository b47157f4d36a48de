/**
 * Export and import of state files (the states module's safetensors format, src/engine/states/stateFile.ts).
 * The worker reads and writes them; imported states join the library and are saved with the model's states.
 */
import { useState } from 'react';
import { addEntry, setEntryStatus, useLibraryStore, type LibraryEntry } from '../../stores/library.ts';
import { useModelStore } from '../../stores/model.ts';
import { engine, errorText } from '../model/engine.ts';

export function downloadBytes(bytes: Uint8Array, fileName: string, type = 'application/octet-stream') {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export async function exportStates(keys: string[]) {
  const r = await engine().request('exported', { type: 'export', keys });
  downloadBytes(r.bytes, r.fileName);
}

export function StateFiles() {
  const ready = useModelStore((s) => s.status === 'ready');
  const entries = useLibraryStore((s) => s.entries);
  const status = useLibraryStore((s) => s.status);
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<string>();
  const readyKeys = entries.filter((e) => status[e.id]?.kind === 'ready').map((e) => e.id);

  const importFiles = async (files: File[]) => {
    setNote(undefined);
    setError(undefined);
    for (const f of files) {
      try {
        const bytes = await f.arrayBuffer();
        const r = await engine().request('imported', { type: 'importFile', bytes, fileName: f.name }, {}, [
          bytes,
        ]);
        for (const s of r.states) {
          const entry: LibraryEntry = {
            id: s.key,
            name: s.name,
            text: s.text,
            origin: 'import',
            createdAt: Date.now(),
            tokenCount: s.tokenCount,
            ...(s.task ? { task: s.task } : {}),
          };
          addEntry(entry);
          setEntryStatus(s.key, { kind: 'ready', ...(r.warning ? { warning: r.warning } : {}) });
        }
        setNote(`Imported ${r.states.length} state(s) from ${f.name}.${r.warning ? ` ${r.warning}` : ''}`);
      } catch (e) {
        setError(errorText(e));
      }
    }
  };

  return (
    <div className="state-files">
      <div className="row">
        <label>
          Import state files{' '}
          <input
            type="file"
            aria-label="Import state files"
            multiple
            accept=".safetensors"
            disabled={!ready}
            onChange={(e) => {
              const files = Array.from(e.target.files ?? []);
              e.target.value = '';
              void importFiles(files);
            }}
          />
        </label>
        <button
          type="button"
          disabled={readyKeys.length === 0}
          onClick={() => void exportStates(readyKeys).catch((e) => setError(errorText(e)))}
        >
          Export all states
        </button>
      </div>
      {note && (
        <p className="hint" role="status">
          {note}
        </p>
      )}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

StateFiles.ExportButton = function ExportButton({ entry, ready }: { entry: LibraryEntry; ready: boolean }) {
  return (
    <button
      type="button"
      aria-label={`Export ${entry.name}`}
      disabled={!ready}
      onClick={() => void exportStates([entry.id]).catch((e) => window.alert(errorText(e)))}
    >
      Export
    </button>
  );
};
