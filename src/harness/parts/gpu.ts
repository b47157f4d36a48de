import { openDevice } from '../../engine/gpu/device.ts';

/** Lets e2e tests check that WebGPU works in the browser under test. */
export function register(r: Record<string, unknown>) {
  r['adapterInfo'] = async () => {
    const dev = await openDevice(navigator.gpu);
    const info = dev.adapterInfo;
    dev.device.destroy();
    return info;
  };
}
