export function App() {
  return (
    <main>
      <h1>State Soup Playground</h1>
      <p>{'gpu' in navigator ? 'WebGPU is available.' : 'WebGPU is not available in this browser.'}</p>
    </main>
  );
}
