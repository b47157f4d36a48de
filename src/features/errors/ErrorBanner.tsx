/** Device loss and other whole-page conditions, with what to do about them. */
import { useModelStore } from '../../stores/model.ts';
import { reloadLastModel } from '../model/engine.ts';

export function ErrorBanner() {
  const status = useModelStore((s) => s.status);
  const error = useModelStore((s) => s.error);
  if (status !== 'lost') return null;
  return (
    <div className="banner banner-error" role="alert">
      <p>
        <strong>The GPU device was lost.</strong> {error} Your stored states are kept: Recover reloads the
        model and takes them back from this browser’s storage (or recomputes them from their texts).
      </p>
      <button type="button" onClick={() => void reloadLastModel()}>
        Recover: reload the model
      </button>
    </div>
  );
}
