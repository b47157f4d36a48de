/**
 * Export and import of single state files. The file format belongs to the states module
 * (src/engine/states); until its reader and writer are in this build the controls say so instead of
 * writing a format of our own that nothing else reads.
 */
import type { LibraryEntry } from '../../stores/library.ts';

const NOT_YET = 'State files arrive with the states module’s file format; not in this build yet.';

export function StateFiles() {
  return (
    <div className="state-files">
      <label>
        Import state files{' '}
        <input
          type="file"
          aria-label="Import state files"
          multiple
          disabled
          aria-describedby="state-files-note"
        />
      </label>
      <span id="state-files-note" className="hint">
        {' '}
        {NOT_YET}
      </span>
    </div>
  );
}

StateFiles.ExportButton = function ExportButton({ entry }: { entry: LibraryEntry; ready: boolean }) {
  return (
    <button type="button" aria-label={`Export ${entry.name}`} disabled title={NOT_YET}>
      Export
    </button>
  );
};
