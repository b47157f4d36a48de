/**
 * The simplex pad for exactly three states: a point in a triangle whose barycentric coordinates are the three
 * weights (convex: each ≥ 0, sum 1). Dragging moves the point; the sliders follow through the store. Arrow
 * keys move the point too, so the pad is keyboard-operable.
 */
import { useRef, type KeyboardEvent, type PointerEvent } from 'react';

const W = 220;
const H = 190;
// Corners: top (state 1), bottom-left (state 2), bottom-right (state 3).
const P = [
  { x: W / 2, y: 12 },
  { x: 12, y: H - 12 },
  { x: W - 12, y: H - 12 },
] as const;

export function toBarycentric(x: number, y: number): [number, number, number] {
  const [a, b, c] = P;
  const det = (b.y - c.y) * (a.x - c.x) + (c.x - b.x) * (a.y - c.y);
  let l1 = ((b.y - c.y) * (x - c.x) + (c.x - b.x) * (y - c.y)) / det;
  let l2 = ((c.y - a.y) * (x - c.x) + (a.x - c.x) * (y - c.y)) / det;
  l1 = Math.max(0, l1);
  l2 = Math.max(0, l2);
  let l3 = Math.max(0, 1 - l1 - l2);
  const s = l1 + l2 + l3;
  l1 /= s;
  l2 /= s;
  l3 /= s;
  return [l1, l2, l3];
}

export function fromBarycentric(w: [number, number, number]): { x: number; y: number } {
  const pos = w.map((v) => Math.max(0, v));
  const s = pos[0]! + pos[1]! + pos[2]! || 1;
  const l = pos.map((v) => v / s);
  return {
    x: l[0]! * P[0].x + l[1]! * P[1].x + l[2]! * P[2].x,
    y: l[0]! * P[0].y + l[1]! * P[1].y + l[2]! * P[2].y,
  };
}

export function TrianglePad({
  names,
  weights,
  onChange,
}: {
  names: [string, string, string];
  weights: [number, number, number];
  onChange: (w: [number, number, number]) => void;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const pt = fromBarycentric(weights);
  const round = (w: [number, number, number]) =>
    w.map((v) => Math.round(v * 100) / 100) as [number, number, number];
  const fromPointer = (e: PointerEvent) => {
    const r = svg.current?.getBoundingClientRect();
    if (!r) return;
    onChange(
      round(toBarycentric(((e.clientX - r.left) / r.width) * W, ((e.clientY - r.top) / r.height) * H)),
    );
  };
  const onKey = (e: KeyboardEvent) => {
    const d = e.shiftKey ? 20 : e.altKey ? 1 : 5;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-d, 0],
      ArrowRight: [d, 0],
      ArrowUp: [0, -d],
      ArrowDown: [0, d],
    };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    onChange(round(toBarycentric(pt.x + m[0], pt.y + m[1])));
  };
  return (
    <svg
      ref={svg}
      className="triangle-pad"
      viewBox={`0 0 ${W} ${H}`}
      role="application"
      aria-label={`Triangle pad: weights of ${names.join(', ')}`}
      aria-roledescription="simplex pad"
      tabIndex={0}
      onKeyDown={onKey}
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        fromPointer(e);
      }}
      onPointerMove={(e) => {
        if (e.currentTarget.hasPointerCapture(e.pointerId)) fromPointer(e);
      }}
    >
      <polygon points={P.map((p) => `${p.x},${p.y}`).join(' ')} className="triangle-pad-face" />
      {/* Corners are numbered; the names are listed beside the pad (they would overlap here). */}
      {P.map((p, i) => (
        <text
          key={i}
          x={p.x}
          y={i === 0 ? p.y + 14 : p.y - 4}
          textAnchor={i === 0 ? 'middle' : i === 1 ? 'start' : 'end'}
          className="triangle-pad-label"
        >
          {i + 1}
        </text>
      ))}
      <circle cx={pt.x} cy={pt.y} r={7} className="triangle-pad-point" />
    </svg>
  );
}
