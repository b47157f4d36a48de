/** Share: a link carrying the recipe, and export / import of the whole session as a file. */
import { useState } from 'react';
import { useModelStore } from '../../stores/model.ts';
import { applyRecipeUndoably, currentRecipe } from './apply.ts';
import { encodeRecipeLink } from './link.ts';
import { UndoNotice } from './UndoNotice.tsx';
import {
  MAX_SESSION_BYTES,
  parseSessionFile,
  RecipeError,
  SESSION_TYPE,
  SESSION_VERSION,
  type SessionFile,
} from './recipe.ts';

export const RECIPE_PARAM = 'r';

export async function shareUrl(): Promise<string> {
  const u = new URL(window.location.href);
  u.hash = `${RECIPE_PARAM}=${await encodeRecipeLink(currentRecipe())}`;
  return u.toString();
}

export function SharePanel() {
  const [link, setLink] = useState('');
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<string>();
  const model = useModelStore((s) => s.info?.id);

  const makeLink = async () => {
    const url = await shareUrl();
    setLink(url);
    window.history.replaceState(null, '', url);
    try {
      await navigator.clipboard.writeText(url);
      setNote('Link copied to the clipboard.');
    } catch {
      setNote('Copy the link from the box.');
    }
  };

  const exportSession = () => {
    const file: SessionFile = { type: SESSION_TYPE, version: SESSION_VERSION, ...currentRecipe() };
    const blob = new Blob([JSON.stringify(file, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'state-soup-session.json';
    a.click();
    URL.revokeObjectURL(a.href);
  };

  const importSession = async (f: File) => {
    setError(undefined);
    setNote(undefined);
    try {
      // Everything is checked before the page changes: a bad file leaves the current work as it was.
      if (f.size > MAX_SESSION_BYTES)
        throw new RecipeError(`${f.name} is too large (${f.size} bytes) to be a session file.`);
      const recipe = parseSessionFile(await f.text(), f.name);
      applyRecipeUndoably(recipe, `Imported the session ${f.name}.`, 'session');
      setNote(
        `Imported ${recipe.states.length} state text(s) from ${f.name}.` +
          (recipe.model && model && recipe.model !== model
            ? ` It was made with ${recipe.model}; this page runs ${model}.`
            : ''),
      );
    } catch (e) {
      const why =
        e instanceof RecipeError ? e.message : `${f.name} could not be read: ${(e as Error).message}`;
      setError(`${why} Nothing was changed.`);
    }
  };

  return (
    <section className="panel" aria-labelledby="share-title">
      <h2 id="share-title">Share</h2>
      <div className="row">
        <button type="button" onClick={() => void makeLink()}>
          Copy share link
        </button>{' '}
        <button type="button" onClick={exportSession}>
          Export session
        </button>{' '}
        <label>
          Import session{' '}
          <input
            type="file"
            accept=".json,application/json"
            aria-label="Import session"
            onChange={(e) => {
              const f = e.target.files?.[0];
              // Cleared, so choosing the same file again (after an undo, say) imports it again.
              e.target.value = '';
              if (f) void importSession(f);
            }}
          />
        </label>
      </div>
      <UndoNotice place="session" />
      {link && (
        <input
          className="share-link"
          aria-label="Share link"
          readOnly
          value={link}
          onFocus={(e) => e.target.select()}
        />
      )}
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
      <p className="hint">
        The link carries the model id, state texts, weights, mode, sampling, seed, query and evaluation text;
        states are recomputed from the texts.
      </p>
    </section>
  );
}
