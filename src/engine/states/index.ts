/**
 * Task states: what the UI and the command line use. Capture a state (captureState), mix states on the CPU or
 * GPU (planMix, mixStoredCpu, GpuStateMixer/mixStoredGpu), rank and mix by similarity (rankStates,
 * retrieveAndMix), and read or write state files (exportStateFile, importStateFile). Storage is src/storage.
 */
export * from './types.ts';
export { hashModelWeights } from './hash.ts';
export { captureState, type CaptureRequest } from './capture.ts';
export * from './mixSpec.ts';
export { mixStatesCpu, decayRates } from './cpuMix.ts';
export { GpuStateMixer } from './gpuMix.ts';
export { checkMixable, checkBelongsTo, mixStoredCpu, mixStoredGpu } from './mix.ts';
export * from './retrieval.ts';
export * from './stateFile.ts';
