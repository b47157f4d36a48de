/** Generated tokens coloured by the probability the model gave them (log scale); focus or hover shows the top alternatives. */
import type { GeneratedToken } from '../../worker/protocol.ts';

export function probColour(p: number): string {
  // log10 p in [-4, 0] → red … green.
  const x = Math.min(1, Math.max(0, (Math.log10(Math.max(p, 1e-12)) + 4) / 4));
  return `hsl(${Math.round(120 * x)} 70% 86%)`;
}

const visible = (t: string) => t.replace(/\n/g, '↵\n');

export function TokenStream({ tokens }: { tokens: GeneratedToken[] }) {
  return (
    <>
      {tokens.map((t, i) => {
        const alts = t.top.map((a) => `${JSON.stringify(a.text)} ${(a.prob * 100).toFixed(1)}%`).join('\n');
        return (
          <span
            key={i}
            className="token gen-token"
            tabIndex={0}
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
    </>
  );
}
