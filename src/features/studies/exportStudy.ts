/**
 * A study's results as files: JSON in the command line's shape (`soup study … --json`: rows, the run record
 * and the study's other keys) so the two can be compared, and CSV of its rows (retrieval's two tables in one
 * file, told apart by a `table` column), each row with the run's seed and model for spreadsheets.
 */
import type { StudyOutcome } from '../../studies/request.ts';

export function studyJson(o: StudyOutcome): string {
  return JSON.stringify(o, null, 2);
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvOf(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [keys.join(','), ...rows.map((r) => keys.map((k) => csvCell(r[k])).join(','))].join('\n') + '\n';
}

export function studyCsv(o: StudyOutcome): string {
  const tag = { model: o.run.model.id, seed: o.run.seed };
  switch (o.study) {
    case 'retrieval':
      return csvOf([
        ...o.rows.map((r) => ({ table: 'retrieval', ...r, ...tag })),
        ...o.answers.map((r) => ({ table: 'answers', ...r, ...tag })),
      ]);
    default:
      return csvOf((o.rows as object[]).map((r) => ({ ...r, ...tag })));
  }
}

/** A file name for a run: study, model, seed. */
export function studyFileName(o: StudyOutcome, ext: 'json' | 'csv'): string {
  return `study-${o.study}-${o.run.model.id.replace(/[^\w.-]+/g, '_')}-seed${o.run.seed}.${ext}`;
}

export function download(text: string, name: string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}
