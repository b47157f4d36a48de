/**
 * Accessibility rules that are pure functions: the heatmap's cell colours keep WCAG AA contrast (4.5:1) with
 * the page's ink colour at every cosine, and the token stream's roving focus moves as the keys say.
 */
import { describe, expect, it } from 'vitest';
import { heat } from '../src/features/inspector/InspectorPanel.tsx';
import { rovingStep } from '../src/features/generation/TokenStream.tsx';

/** CSS `hsl(h s% l%)` → sRGB in [0, 1] (CSS Color 4's algorithm). */
function hslToRgb(css: string): [number, number, number] {
  const m = /^hsl\(([\d.]+) ([\d.]+)% ([\d.]+)%\)$/.exec(css);
  if (!m) throw new Error(`not an hsl() colour: ${css}`);
  const [h, s, l] = [Number(m[1]), Number(m[2]) / 100, Number(m[3]) / 100];
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

/** WCAG 2 relative luminance and contrast ratio. */
const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const luminance = ([r, g, b]: [number, number, number]) =>
  0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);

describe('heatmap colours', () => {
  const ink = luminance([0x1c / 255, 0x1b / 255, 0x1f / 255]); // --ink in app.css
  it('keep 4.5:1 contrast with the cell text from cosine −1 to 1', () => {
    let worst = Infinity;
    for (let v = -1; v <= 1.0001; v += 0.01)
      worst = Math.min(worst, contrast(luminance(hslToRgb(heat(v))), ink));
    expect(worst).toBeGreaterThanOrEqual(4.5);
  });
  it('still tell −1, 0 and 1 apart', () => {
    expect(heat(1)).not.toBe(heat(0));
    expect(heat(-1)).not.toBe(heat(1));
  });
});

describe('token stream roving focus', () => {
  it('steps with the arrows, jumps with Home and End, stays in range and ignores other keys', () => {
    expect(rovingStep('ArrowRight', 0, 5)).toBe(1);
    expect(rovingStep('ArrowRight', 4, 5)).toBe(4);
    expect(rovingStep('ArrowLeft', 0, 5)).toBe(0);
    expect(rovingStep('ArrowUp', 3, 5)).toBe(2);
    expect(rovingStep('Home', 3, 5)).toBe(0);
    expect(rovingStep('End', 0, 5)).toBe(4);
    expect(rovingStep('Tab', 1, 5)).toBeUndefined();
    expect(rovingStep('End', 0, 0)).toBeUndefined();
  });
});
