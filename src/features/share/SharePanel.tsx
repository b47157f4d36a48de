/** Share: a link carrying the recipe, and export / import of the whole session as a file. */
import { useState } from 'react';
import { useModelStore } from '../../stores/model.ts';
import { applyRecipe, currentRecipe } from './apply.ts';
import { checkRecipe, encodeRecipe, SESSION_TYPE, SESSION_VERSION, type SessionFile } from './recipe.ts';

export const RECIPE_PARAM = 'r';

export function shareUrl(): string {
  const u = new URL(window.location.href);
  u.hash = `${RECIPE_PARAM}=${encodeRecipe(currentRecipe())}`;
  return u.toString();
}

export function SharePanel() {
  const [link, setLink] = useState('');
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<string>();
  const model = useModelStore((s) => s.info?.id);

  const makeLink = async () => {
    const url = shareUrl();
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
      const raw = JSON.parse(await f.text()) as Record<string, unknown>;
      if (raw['type'] !== SESSION_TYPE) throw new Error(`${f.name} is not a State Soup session file.`);
      if (typeof raw['version'] !== 'number' || raw['version'] > SESSION_VERSION) {
        throw new Error(`${f.name} was written by a newer version of the playground; update this page.`);
      }
      const recipe = checkRecipe(raw);
      applyRecipe(recipe);
      setNote(
        `Imported ${recipe.states.length} state text(s) from ${f.name}.` +
          (recipe.model && model && recipe.model !== model
            ? ` It was made with ${recipe.model}; this page runs ${model}.`
            : ''),
      );
    } catch (e) {
      setError(e instanceof SyntaxError ? `${f.name} is not valid JSON.` : (e as Error).message);
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
            onChange={(e) => e.target.files?.[0] && void importSession(e.target.files[0])}
          />
        </label>
      </div>
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
