/**
 * The studies: the paper's experiments run over many prompts on any loaded model, the same code in the app
 * (through the engine Worker) and on the command line (`soup study …`). See docs/studies.md.
 */
export * from './stats.ts';
export * from './random.ts';
export * from './orders.ts';
export * from './tasks.ts';
export * from './context.ts';
export * from './record.ts';
export * from './icl.ts';
export * from './chunked.ts';
export * from './retrieval.ts';
export * from './switch.ts';
export * from './request.ts';
