/**
 * Generated tokens coloured by the probability the model gave them (log scale); focus or hover shows the top
 * alternatives. The stream is one tab stop (a roving focus): Tab enters at the last token visited, the arrow
 * keys, Home and End move between tokens, so a long generation does not add a tab stop per token.
 */
import { useState, type KeyboardEvent } from 'react';
import type { GeneratedToken } from '../../worker/protocol.ts';

export function probColour(p: number): string {
  // log10 p in [-4, 0] → red … green.
  const x = Math.min(1, Math.max(0, (Math.log10(Math.max(p, 1e-12)) + 4) / 4));
  return `hsl(${Math.round(120 * x)} 70% 86%)`;
}

const visible = (t: string) => t.replace(/\n/g, '↵\n');

/** The token index a key moves to from `at` among `n` tokens, or undefined for keys that do not move. */
export function rovingStep(key: string, at: number, n: number): number | undefined {
  if (n === 0) return undefined;
  if (key === 'ArrowRight' || key === 'ArrowDown') return Math.min(n - 1, at + 1);
  if (key === 'ArrowLeft' || key === 'ArrowUp') return Math.max(0, at - 1);
  if (key === 'Home') return 0;
  if (key === 'End') return n - 1;
  return undefined;
}

export function TokenStream({ tokens }: { tokens: GeneratedToken[] }) {
  const [visited, setVisited] = useState(0);
  const active = Math.min(visited, Math.max(0, tokens.length - 1));
  const onKeyDown = (e: KeyboardEvent<HTMLSpanElement>) => {
    const to = rovingStep(e.key, active, tokens.length);
    if (to === undefined) return;
    e.preventDefault();
    setVisited(to);
    (e.currentTarget.children[to] as HTMLElement | undefined)?.focus();
  };
  return (
    <span className="token-stream" onKeyDown={onKeyDown}>
      {tokens.map((t, i) => {
        const alts = t.top.map((a) => `${JSON.stringify(a.text)} ${(a.prob * 100).toFixed(1)}%`).join('\n');
        return (
          <span
            key={i}
            className="token gen-token"
            tabIndex={i === active ? 0 : -1}
            onFocus={() => setVisited(i)}
            style={{ background: probColour(t.prob) }}
            title={`p = ${(t.prob * 100).toFixed(1)}%\nTop alternatives:\n${alts}`}
          >
            {visible(t.text)}
            <span className="token-tip" role="tooltip">
              p = {(t.prob * 100).toFixed(1)}%
              {t.top.map((a, j) => (
                <span key={j} className="token-tip-row">
                  {JSON.stringify(a.text)} {(a.prob * 100).toFixed(1)}%
                </span>
              ))}
            </span>
          </span>
        );
      })}
    </span>
  );
}
