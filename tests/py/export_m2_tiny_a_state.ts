/**
 * Writes tests/fixtures/states/m2-tiny-a-head.state.safetensors (the input of tests/py/hf_continue_mamba2.py on
 * a machine with transformers): `npx tsx tests/py/export_m2_tiny_a_state.ts`. The file is committed; the test
 * in tests/states.file.mamba2.test.ts fails if this code would now write other bytes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportStateFile } from '../../src/engine/states/stateFile.ts';
import { FIXTURES_DIR } from '../helpers/fixtures.ts';
import { M2_TINY_A_HEAD_FILE, m2TinyAHeadMix } from '../helpers/m2TinyAState.ts';

writeFileSync(join(FIXTURES_DIR, M2_TINY_A_HEAD_FILE), exportStateFile([m2TinyAHeadMix()]));
