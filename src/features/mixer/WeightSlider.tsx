/**
 * An accessible slider for one weight, −1 to 2 in steps of 0.01. Arrow keys step; Shift steps ×10, Alt ×0.1
 * (a native range input snaps to its step and has no modifiers, hence role="slider" on a div). Home / End
 * jump to the ends, Page Up / Down step by 0.1. Dragging with a pointer sets the value under it.
 */
import { useRef, type KeyboardEvent, type PointerEvent } from 'react';

export interface WeightSliderProps {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onChange: (v: number) => void;
}

export function stepFor(e: { shiftKey: boolean; altKey: boolean }, step: number): number {
  if (e.shiftKey) return step * 10;
  if (e.altKey) return step / 10;
  return step;
}

export function WeightSlider({ label, value, min, max, step, onChange }: WeightSliderProps) {
  const track = useRef<HTMLDivElement>(null);
  const clamp = (v: number) => Math.min(max, Math.max(min, Math.round(v * 1000) / 1000));
  const frac = (value - min) / (max - min);
  const zero = (0 - min) / (max - min);

  const onKey = (e: KeyboardEvent) => {
    const s = stepFor(e, step);
    const moves: Record<string, number> = {
      ArrowRight: s,
      ArrowUp: s,
      ArrowLeft: -s,
      ArrowDown: -s,
      PageUp: 0.1,
      PageDown: -0.1,
    };
    if (e.key in moves) onChange(clamp(value + moves[e.key]!));
    else if (e.key === 'Home') onChange(min);
    else if (e.key === 'End') onChange(max);
    else return;
    e.preventDefault();
  };

  const fromPointer = (e: PointerEvent) => {
    const r = track.current?.getBoundingClientRect();
    if (!r || r.width === 0) return;
    const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    onChange(clamp(Math.round((min + x * (max - min)) / step) * step));
  };

  return (
    <div
      className="weight-slider"
      role="slider"
      tabIndex={0}
      aria-label={label}
      aria-valuemin={min}
      aria-valuemax={max}
      aria-valuenow={value}
      aria-valuetext={value.toFixed(value * 100 === Math.round(value * 100) ? 2 : 3)}
      onKeyDown={onKey}
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        fromPointer(e);
      }}
      onPointerMove={(e) => {
        if (e.currentTarget.hasPointerCapture(e.pointerId)) fromPointer(e);
      }}
    >
      <div className="weight-slider-track" ref={track}>
        <div className="weight-slider-zero" style={{ left: `${zero * 100}%` }} />
        <div
          className="weight-slider-fill"
          style={{ left: `${Math.min(frac, zero) * 100}%`, width: `${Math.abs(frac - zero) * 100}%` }}
        />
        <div className="weight-slider-thumb" style={{ left: `${frac * 100}%` }} />
      </div>
    </div>
  );
}
