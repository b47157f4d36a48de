/**
 * The record of a study run: what ran, on what, with which settings, so a result can be reproduced and
 * compared (same seed, adapter and dtype give the same numbers in the app and the command line).
 */
import type { ModelInfo } from './context.ts';

export type StudyName = 'icl' | 'chunked' | 'retrieval' | 'switch';

/** Bumped when a study's method changes what it computes (so old records are not compared blindly). */
export const STUDIES_VERSION = 1;
/** The engine's version: the project's package version. */
export const ENGINE_VERSION = '0.1.0';

export interface RunRecord {
  study: StudyName;
  studiesVersion: number;
  engineVersion: string;
  model: ModelInfo;
  /** The paper's model, named beside ours in every view. */
  paperModel: 'Mamba-2.8b';
  seed: number;
  /** Where each task or document came from. */
  sources: { name: string; source: string }[];
  /** Every setting the study ran with, defaults filled in. */
  settings: Record<string, unknown>;
  startedAt: string;
  wallMs: number;
  /** False when the run was cancelled: the rows are those that finished. */
  complete: boolean;
}

export function newRecord(
  study: StudyName,
  model: ModelInfo,
  seed: number,
  sources: { name: string; source: string }[],
  settings: Record<string, unknown>,
): RunRecord {
  return {
    study,
    studiesVersion: STUDIES_VERSION,
    engineVersion: ENGINE_VERSION,
    model: { ...model },
    paperModel: 'Mamba-2.8b',
    seed,
    sources,
    settings,
    startedAt: new Date().toISOString(),
    wallMs: 0,
    complete: false,
  };
}

export function finish(record: RunRecord, started: number, complete: boolean): RunRecord {
  return { ...record, wallMs: Date.now() - started, complete };
}
