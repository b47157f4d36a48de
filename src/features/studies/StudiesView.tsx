/** The Studies view: a placeholder until the studies work (issue 13) lands and replaces this file. */
export function StudiesView() {
  return (
    <section className="panel" aria-labelledby="studies-title">
      <h2 id="studies-title">Studies</h2>
      <p className="hint">
        Studies run one question over many prompts and report it with its interval. They are not built yet;
        the Lesson and the Lab work now.
      </p>
    </section>
  );
}
