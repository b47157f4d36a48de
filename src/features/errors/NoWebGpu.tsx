/** The page shown where WebGPU is missing: which browsers and settings work. */
export function NoWebGpu({ reason }: { reason: string }) {
  return (
    <main className="no-webgpu">
      <h1>State Soup Playground needs WebGPU</h1>
      <p role="alert">{reason}</p>
      <h2>How to get it</h2>
      <ul>
        <li>
          <strong>Chrome or Edge 113 or newer</strong> on Windows, macOS or ChromeOS: WebGPU is on by default.
          Make sure hardware acceleration is enabled (Settings → System → “Use graphics acceleration when
          available”).
        </li>
        <li>
          <strong>Chrome on Linux or Android</strong>: open <code>chrome://flags/#enable-unsafe-webgpu</code>,
          enable it and restart; on Linux also start Chromium with <code>--enable-features=Vulkan</code>.
        </li>
        <li>
          <strong>Firefox</strong> 141+ on Windows has WebGPU; elsewhere set <code>dom.webgpu.enabled</code>{' '}
          to true in <code>about:config</code>.
        </li>
        <li>
          <strong>Safari</strong> 26 on macOS / iOS has WebGPU; earlier versions: Develop → Feature Flags →
          WebGPU.
        </li>
      </ul>
      <p>Your stored states are kept in this browser and reappear once WebGPU works.</p>
    </main>
  );
}
