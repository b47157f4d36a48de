/**
 * The import boundaries of eslint.config.js really apply: ESLint lints virtual files at the paths where they
 * would live, so a later config block that overrides the engine's restriction (as one once did) fails here.
 */
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: ROOT });

/** The no-restricted-imports messages for `code` linted as if it were the file at `path`. */
async function restricted(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, path) });
  expect(result, path).toBeDefined();
  const fatal = result!.messages.filter((m) => m.fatal);
  expect(fatal, 'the virtual file parses').toEqual([]);
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const uses = (names: string[]) => `export const used = [${names.join(', ')}];\n`;

describe('the engine and the model layer import nothing of the app', () => {
  for (const dir of ['src/engine', 'src/engine/states', 'src/model']) {
    it(`${dir}: zustand, React, idb, recharts, stores, storage, worker and features are refused`, async () => {
      const up = dir.split('/').length - 1;
      const src = '../'.repeat(up);
      const code =
        `import { create } from 'zustand';\n` +
        `import { useState } from 'react';\n` +
        `import { jsx } from 'react/jsx-runtime';\n` +
        `import { openDB } from 'idb';\n` +
        `import { LineChart } from 'recharts';\n` +
        `import { useMixer } from '${src}stores/mixer.ts';\n` +
        `import { openStore } from '${src}storage/db.ts';\n` +
        `import { client } from '${src}worker/client.ts';\n` +
        `import { Panel } from '${src}features/mixer/Panel.tsx';\n` +
        uses([
          'create',
          'useState',
          'jsx',
          'openDB',
          'LineChart',
          'useMixer',
          'openStore',
          'client',
          'Panel',
        ]);
      expect(await restricted(`${dir}/x.ts`, code)).toHaveLength(9);
    });
  }

  it('src/engine/x.ts importing zustand fails lint', async () => {
    const messages = await restricted(
      'src/engine/x.ts',
      `import { create } from 'zustand';\n${uses(['create'])}`,
    );
    expect(messages).toEqual([expect.stringContaining('zustand')]);
  });

  it('the engine may import its own modules and the model layer', async () => {
    const code =
      `import { parseMambaConfig } from '../model/config.ts';\n` +
      `import { zeroState } from './weights.ts';\n` +
      uses(['parseMambaConfig', 'zeroState']);
    expect(await restricted('src/engine/x.ts', code)).toEqual([]);
  });
});

describe('idb belongs to src/storage', () => {
  it('a feature or store importing idb fails; src/storage may', async () => {
    const code = `import { openDB } from 'idb';\n${uses(['openDB'])}`;
    expect(await restricted('src/features/x.ts', code)).toHaveLength(1);
    expect(await restricted('src/stores/x.ts', code)).toHaveLength(1);
    expect(await restricted('src/storage/x.ts', code)).toEqual([]);
  });

  it('a feature may use zustand and React', async () => {
    const code = `import { create } from 'zustand';\nimport { useState } from 'react';\n${uses(['create', 'useState'])}`;
    expect(await restricted('src/features/x.ts', code)).toEqual([]);
  });
});

describe('lint ignores what git ignores', () => {
  it('build outputs are not linted, sources are', async () => {
    expect(await eslint.isPathIgnored(resolve(ROOT, 'dist-bench/soup.mjs'))).toBe(true);
    expect(await eslint.isPathIgnored(resolve(ROOT, 'dist/assets/index.js'))).toBe(true);
    expect(await eslint.isPathIgnored(resolve(ROOT, 'src/engine/shaders.gen.ts'))).toBe(true);
    expect(await eslint.isPathIgnored(resolve(ROOT, 'src/engine/model.ts'))).toBe(false);
  });
});
