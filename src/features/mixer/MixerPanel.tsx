/** The mixer: a weight slider per mixed state, the operator and its options, and the triangle pad for three. */
import { useLibraryStore } from '../../stores/library.ts';
import {
  moveMixed,
  setMixOptions,
  setMixWeight,
  setMixWeights,
  useMixSettings,
  WEIGHT_MAX,
  WEIGHT_MIN,
} from '../../stores/mixer.ts';
import type { MixMode, RecipeProfile } from '../../engine/states/mixSpec.ts';
import { useShown } from '../present/view.ts';
import { TrianglePad } from './TrianglePad.tsx';
import { WeightSlider } from './WeightSlider.tsx';

const MODES: { value: MixMode; label: string; origin: string }[] = [
  { value: 'weighted', label: 'Weighted Σ wᵢ sᵢ', origin: 'from the paper' },
  { value: 'mean', label: 'Mean (soup)', origin: 'from the paper' },
  { value: 'adecay', label: 'A-decay (ordered chunks)', origin: 'reconstruction' },
];

const PROFILES: { value: RecipeProfile; label: string }[] = [
  { value: 'uniform', label: 'Uniform (every layer)' },
  { value: 'early', label: 'Early layers only' },
  { value: 'late', label: 'Late layers only' },
  { value: 'ramp', label: 'Ramp (0 at the first layer → 1 at the last)' },
];

export function MixerPanel() {
  const entries = useLibraryStore((s) => s.entries);
  const mixer = useMixSettings();
  const mixed = mixer.selected
    .map((id) => entries.find((e) => e.id === id))
    .filter((e): e is NonNullable<typeof e> => e !== undefined);
  const sum = mixed.reduce((a, e) => a + (mixer.weights[e.id] ?? 0), 0);
  const usesWeights = mixer.mode === 'weighted';
  const showOperator = useShown('operator');

  return (
    <section className="panel" aria-labelledby="mixer-title">
      <h2 id="mixer-title">Mixer</h2>
      {mixed.length === 0 ? (
        <p className="hint">
          Tick “Mix” beside stored states to mix them. With none ticked, the model starts from the zero state.
        </p>
      ) : (
        <ol className="mixer-list">
          {mixed.map((e, i) => {
            const w = mixer.weights[e.id] ?? 0;
            return (
              <li key={e.id} className="mixer-row">
                <span className="mixer-name" title={e.text}>
                  {e.name}
                </span>
                <WeightSlider
                  label={`Weight of ${e.name}`}
                  value={w}
                  min={WEIGHT_MIN}
                  max={WEIGHT_MAX}
                  step={0.01}
                  onChange={(v) => setMixWeight(e.id, v)}
                />
                <output className="mixer-value" aria-hidden="true">
                  {w.toFixed(2)}
                  {mixer.normalize && usesWeights && Math.abs(sum) > 1e-9 ? ` → ${(w / sum).toFixed(2)}` : ''}
                </output>
                {mixer.mode === 'adecay' && (
                  <span className="mixer-order">
                    <button
                      type="button"
                      aria-label={`Move ${e.name} earlier`}
                      disabled={i === 0}
                      onClick={() => moveMixed(e.id, -1)}
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      aria-label={`Move ${e.name} later`}
                      disabled={i === mixed.length - 1}
                      onClick={() => moveMixed(e.id, 1)}
                    >
                      ↓
                    </button>
                  </span>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {mixed.length > 0 && !usesWeights && (
        <p className="hint">
          {mixer.mode === 'mean'
            ? 'Mean ignores the sliders: every state weighs 1/K.'
            : 'A-decay ignores the sliders: states are composed as chunks in the order above (first = oldest), each decayed by the later chunks’ exp(A·ΣΔ); the conv state is the last chunk’s.'}
        </p>
      )}
      {mixed.length === 3 && usesWeights && (
        <div className="mixer-pad">
          <TrianglePad
            names={[mixed[0]!.name, mixed[1]!.name, mixed[2]!.name]}
            weights={[
              mixer.weights[mixed[0]!.id] ?? 0,
              mixer.weights[mixed[1]!.id] ?? 0,
              mixer.weights[mixed[2]!.id] ?? 0,
            ]}
            onChange={(w) =>
              setMixWeights({ [mixed[0]!.id]: w[0], [mixed[1]!.id]: w[1], [mixed[2]!.id]: w[2] })
            }
          />
          <div className="hint">
            <ol className="pad-names">
              {mixed.map((e) => (
                <li key={e.id}>{e.name}</li>
              ))}
            </ol>
            Drag the point (or use the arrow keys on the pad): its barycentric coordinates become the weights.
          </div>
        </div>
      )}
      {showOperator && (
        <fieldset className="mixer-options">
          <legend>Operator</legend>
          <label>
            Mode{' '}
            <select value={mixer.mode} onChange={(e) => setMixOptions({ mode: e.target.value as MixMode })}>
              {MODES.map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label} — {m.origin}
                </option>
              ))}
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={mixer.normalize}
              onChange={(e) => setMixOptions({ normalize: e.target.checked })}
            />{' '}
            Normalise weights (convex mix)
          </label>
          <span className="mixer-parts">
            Mix parts:{' '}
            <label>
              <input
                type="checkbox"
                checked={mixer.parts.ssm}
                onChange={(e) => setMixOptions({ parts: { ...mixer.parts, ssm: e.target.checked } })}
              />{' '}
              SSM state
            </label>{' '}
            <label>
              <input
                type="checkbox"
                checked={mixer.parts.conv}
                onChange={(e) => setMixOptions({ parts: { ...mixer.parts, conv: e.target.checked } })}
              />{' '}
              conv state
            </label>
            <span className="hint"> (an unmixed part is taken from the last state)</span>
          </span>
          <label>
            Per-layer profile{' '}
            <select
              value={mixer.profile}
              onChange={(e) => setMixOptions({ profile: e.target.value as RecipeProfile })}
            >
              {PROFILES.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
            <span className="hint">
              {' '}
              playground extension: layer l gets p_l·w + (1−p_l)·(first state alone)
            </span>
          </label>
        </fieldset>
      )}
    </section>
  );
}
