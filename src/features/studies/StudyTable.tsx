/** A study's rows as a table (what the charts show, in numbers; accuracies with their Wilson interval). */
import type { StudyOutcome } from '../../studies/request.ts';

const fmt = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v));

function Table({ rows, caption }: { rows: object[]; caption: string }) {
  if (rows.length === 0) return <p className="hint">No rows finished.</p>;
  const keys = Object.keys(rows[0]!);
  return (
    <table className="study-table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {keys.map((k) => (
            <th key={k} scope="col">
              {k}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {keys.map((k) => (
              <td key={k}>{fmt((r as Record<string, unknown>)[k])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function StudyTable({ outcome }: { outcome: StudyOutcome }) {
  if (outcome.study === 'retrieval') {
    return (
      <>
        <Table rows={outcome.rows} caption="Top-1 retrieval" />
        <Table rows={outcome.answers} caption="Answers by source" />
      </>
    );
  }
  return <Table rows={outcome.rows} caption={`${outcome.study} rows`} />;
}
