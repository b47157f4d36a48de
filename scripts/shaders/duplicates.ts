/**
 * The "no twins" check over shaders/: the longest run of consecutive lines two files share, after
 * normalising whitespace (each line trimmed, inner runs of blanks collapsed, blank lines dropped, so
 * reindenting or spacing a copy out does not hide it).
 */

export function normalisedLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l.length > 0);
}

export interface SharedRun {
  length: number;
  /** Index (in normalised lines) of the run's first line in `a` and in `b`. */
  atA: number;
  atB: number;
}

/** The longest common run of consecutive normalised lines of `a` and `b` (dynamic programming, O(|a|·|b|)). */
export function longestSharedRun(a: string, b: string): SharedRun {
  const la = normalisedLines(a);
  const lb = normalisedLines(b);
  const prev = new Array<number>(lb.length + 1).fill(0);
  let best: SharedRun = { length: 0, atA: 0, atB: 0 };
  for (let i = 1; i <= la.length; i++) {
    let diag = 0;
    for (let j = 1; j <= lb.length; j++) {
      const up = prev[j]!;
      prev[j] = la[i - 1] === lb[j - 1] ? diag + 1 : 0;
      if (prev[j]! > best.length) best = { length: prev[j]!, atA: i - prev[j]!, atB: j - prev[j]! };
      diag = up;
    }
  }
  return best;
}
