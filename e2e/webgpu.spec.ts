import { expect, test } from '@playwright/test';

test('Chromium under test exposes a real WebGPU adapter', async ({ page }) => {
  await page.goto('/harness.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  const info = await page.evaluate(async () => {
    const soup = (window as unknown as { soup: { adapterInfo: () => Promise<Record<string, string>> } }).soup;
    return soup.adapterInfo();
  });
  // The engine's device names its adapter (SwiftShader here, the GPU's vendor on a GPU machine).
  expect(Object.values(info).join('')).not.toBe('');

  // A device that answers requestDevice could still be a stub: run a compute shader and read its output back.
  const n = 256;
  const out = await page.evaluate(async (n) => {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('no adapter');
    const device = await adapter.requestDevice();
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> y: array<u32>;
        @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
          y[g.x] = g.x * g.x + 7u;
        }`,
    });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const size = n * 4;
    const buf = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(n / 64);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, size);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const values = [...new Uint32Array(read.getMappedRange())];
    device.destroy();
    return values;
  }, n);
  expect(out).toEqual(Array.from({ length: n }, (_, i) => i * i + 7));
});
