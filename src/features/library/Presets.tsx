/** Presets from the bundled model's tasks.json: one click makes k-shot task states (wired when it exists). */
export function Presets() {
  return null;
}
