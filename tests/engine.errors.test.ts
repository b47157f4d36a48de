/**
 * Failures a user can hit, on a real adapter: a missing tensor, a wrong-sized tensor, bad token ids, an empty
 * prompt, and a lost device (here: destroyed on purpose) surfacing as GpuDeviceLostError.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice, nodeGpu } from '../src/engine/gpu/node.ts';
import { GpuDeviceLostError, openDevice, type EngineDevice } from '../src/engine/gpu/device.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { ModelFormatError } from '../src/model/errors.ts';
import { loadFixture, type Fixture } from './helpers/fixtures.ts';

let dev: EngineDevice;
let fx: Fixture;
beforeAll(async () => {
  dev = await openNodeDevice();
  fx = loadFixture('tiny-a');
});

describe('engine errors', () => {
  it('finalize() names a missing tensor; a wrong-sized tensor is refused with its name', async () => {
    const m = await GpuMambaModel.create(dev, fx.weights.config, { dtype: 'f32' });
    await expect(m.uploadTensor('backbone.norm_f.weight', new Float32Array(3))).rejects.toThrow(
      /backbone\.norm_f\.weight.*\[64\]/,
    );
    await m.uploadTensor('backbone.embeddings.weight', fx.weights.embedding);
    const err = await m.finalize().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as Error).message).toMatch(/missing 21 tensor\(s\).*"backbone\.layers\.0\.norm\.weight"/);
  });

  it('token ids outside the vocabulary and empty prompts get clear errors', async () => {
    const m = await GpuMambaModel.fromWeights(dev, fx.weights, { dtype: 'f32' });
    const s = m.createState();
    await expect(m.prefill(s, [1, 300])).rejects.toThrow(/Token id 300 at position 1 .*0\.\.299/);
    await expect(m.generate(s, [], { maxNewTokens: 3 })).rejects.toThrow(/at least one prompt token/);
    // The engine still works after refusing bad input.
    expect(await m.generate(s, [5, 6], { maxNewTokens: 2 })).toHaveLength(2);
    s.destroy();
    m.destroy();
    await expect(m.prefill(m.createState(), [1])).rejects.toThrow(/destroyed/);
  });

  it('a lost device surfaces as GpuDeviceLostError', async () => {
    const own = await openDevice(nodeGpu(), 'lost-test');
    const m = await GpuMambaModel.fromWeights(own, fx.weights, { dtype: 'f32' });
    const s = m.createState();
    own.device.destroy();
    await own.lost;
    await expect(m.prefill(s, [1, 2, 3], { logits: 'last' })).rejects.toBeInstanceOf(GpuDeviceLostError);
  });
});
