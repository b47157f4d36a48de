/**
 * Runs the command line as a user does (`npm run -s soup -- …` is `tsx src/cli/main.ts …`), or, where
 * SOUP_CLI names a bundle of it (the GPU machine, where node_modules does not travel: `node
 * scripts/bundle-node.mjs` makes dist-bench/soup.mjs), that bundle under this Node.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

export async function soup(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const bundle = process.env['SOUP_CLI'];
    const [file, argv] = bundle ? [process.execPath, [bundle, ...args]] : [TSX, ['src/cli/main.ts', ...args]];
    const { stdout, stderr } = await run(file, argv, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
