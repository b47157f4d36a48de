/**
 * The command line against a transformers fixture (tests/fixtures/<name>), as the CLI tests of both families
 * run it: `soup eval` on a request and the comparison of its output with expected.safetensors, and `soup
 * generate --greedy` on token ids.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { SafetensorsFile } from '../../src/model/safetensors.ts';
import { relMaxDiff } from './fixtures.ts';
import { soup } from './soup.ts';

/** A fixture folder's expected.safetensors. */
export function readExpected(dir: string): SafetensorsFile {
  return new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))));
}

/** Runs `soup eval --model dir` on `request` (written to a fresh temporary folder) and reads its output. */
export async function soupEval(dir: string, request: unknown, tmpPrefix: string): Promise<SafetensorsFile> {
  const work = mkdtempSync(join(tmpdir(), tmpPrefix));
  writeFileSync(join(work, 'req.json'), JSON.stringify(request));
  const out = join(work, 'out.safetensors');
  const r = await soup(['eval', '--model', dir, '--request', join(work, 'req.json'), '--out', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return new SafetensorsFile(new Uint8Array(readFileSync(out)));
}

/**
 * Checks every tensor of `expected` but the greedy continuations against `got`: token ids exactly, the rest
 * within 1e-3 (relMaxDiff); gives the names compared.
 */
export function expectFixtureTensors(got: SafetensorsFile, expected: SafetensorsFile): string[] {
  const compared: string[] = [];
  for (const t of expected.names) {
    if (t.endsWith('.greedy')) continue; // generation is checked on its own
    if (expected.info(t).dtype === 'I32') {
      expect(Array.from(got.int32(t)), t).toEqual(Array.from(expected.int32(t)));
    } else {
      expect(relMaxDiff(got.float32(t), expected.float32(t)), t).toBeLessThan(1e-3);
    }
    compared.push(t);
  }
  return compared;
}

/** `soup generate --greedy --json` from token ids (with `more` flags): the ids it generated. */
export async function soupGreedy(
  dir: string,
  tokens: ArrayLike<number>,
  maxNewTokens: number,
  more: string[] = [],
): Promise<number[]> {
  const r = await soup([
    'generate',
    '--model',
    dir,
    ...more,
    '--tokens',
    Array.from(tokens).join(','),
    '--max-new-tokens',
    `${maxNewTokens}`,
    '--greedy',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).tokens as number[];
}
