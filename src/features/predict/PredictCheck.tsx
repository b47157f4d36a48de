/** After Reveal: the learner's guess beside the mix's answer and, for a task preset's query, the expected one. */
import { answerOf, sameAnswer } from './predict.ts';

const right = (a: string, b: string) => (sameAnswer(a, b) ? 'right' : 'wrong');

export function PredictCheck({
  guess,
  continuation,
  expected,
}: {
  guess: string;
  /** The mix's continuation so far; undefined while there is none. */
  continuation: string | undefined;
  expected: string | undefined;
}) {
  const model = continuation === undefined ? undefined : answerOf(continuation);
  return (
    <dl className="predict-check" aria-label="Prediction check">
      <dt>You predicted</dt>
      <dd>{guess.trim() || '(nothing)'}</dd>
      <dt>The mix answered</dt>
      <dd>
        {model === undefined ? 'nothing yet' : model || '(an empty line)'}
        {model !== undefined && (
          <span className="predict-verdict">
            {sameAnswer(guess, model) ? ' — your guess matches' : ' — your guess differs'}
          </span>
        )}
      </dd>
      {expected !== undefined && (
        <>
          <dt>The task expects</dt>
          <dd>
            {expected}
            <span className="predict-verdict">
              {` — you: ${right(guess, expected)}`}
              {model !== undefined && `, the mix: ${right(model, expected)}`}
            </span>
          </dd>
        </>
      )}
    </dl>
  );
}
