/** The one reader of the bundled models' manifest (src/model/sources.ts), used by the app and the Node CLI. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DownloadError } from '../src/model/errors.ts';
import { bundledModelDir } from '../src/model/node.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import {
  bundledFamily,
  bundledLabel,
  bundledTasksOf,
  defaultBundledModel,
  fetchBundledManifest,
  parametersLabel,
  parseBundledManifest,
  pickBundledModel,
  type BundledModel,
} from '../src/model/sources.ts';

const respond =
  (body: string, type: string, status = 200) =>
  () =>
    Promise.resolve(new Response(body, { status, headers: { 'content-type': type } }));

describe('bundled manifest', () => {
  it('reads the shipped manifest and finds its default model by folder or id', () => {
    const shipped = parseBundledManifest(
      JSON.parse(readFileSync('public/models/manifest.json', 'utf8')),
      'public/models/manifest.json',
    );
    const entry = defaultBundledModel(shipped, 'public/models/manifest.json');
    expect(entry.folder).toBe(shipped.default);
    expect(entry.files).toContain('config.json');
    expect(bundledModelDir('public/models').endsWith(`/public/models/${entry.folder}`)).toBe(true);
    const byId = { default: 'org/x', models: [{ id: 'org/x', folder: 'x' }] };
    expect(defaultBundledModel(byId, 'm').folder).toBe('x');
  });

  it('refuses what is not a manifest, and a default it does not list, saying which file', () => {
    for (const bad of [null, [], { default: 'a' }, { default: 'a', models: [{ id: 'a' }] }, { models: [] }]) {
      expect(() => parseBundledManifest(bad, 'here.json')).toThrow(
        'here.json is not a model manifest ({default, models}).',
      );
    }
    expect(() =>
      defaultBundledModel({ default: 'b', models: [{ id: 'a', folder: 'a' }] }, 'here.json'),
    ).toThrow('here.json names default "b" but lists no such model.');
  });

  it('treats a web page served in its place (a build without models) as missing', async () => {
    const err = await fetchBundledManifest('/models', respond('<!doctype html>', 'text/html')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).failure).toBe('not-found');
    expect((err as Error).message).toMatch(
      /a web page came back at \/models\/manifest\.json\). Load a model/,
    );
    const ok = await fetchBundledManifest(
      '/models/',
      respond('{"default":"a","models":[{"id":"a","folder":"a"}]}', 'application/json'),
    );
    expect(ok.models[0]!.id).toBe('a');
  });

  it('refuses an entry of an architecture the app does not run, naming it and the two it does', () => {
    const bad = { default: 'a', models: [{ id: 'a', folder: 'a', architecture: 'jamba' }] };
    expect(() => parseBundledManifest(bad, 'here.json')).toThrow(
      'here.json lists a with architecture "jamba"; the app runs "mamba" (Mamba-1) and "mamba2" (Mamba-2).',
    );
    const ok = parseBundledManifest(
      {
        default: 'a',
        models: [
          { id: 'a', folder: 'a' },
          { id: 'b', folder: 'b', architecture: 'mamba2' },
        ],
      },
      'here.json',
    );
    expect(ok.models.map(bundledFamily)).toEqual(['mamba1', 'mamba2']);
  });

  it('labels a model by family and size, and picks the one ?model= names (else the default, saying so)', () => {
    expect(parametersLabel(4505024)).toBe('4.5M');
    expect(parametersLabel(129_135_360)).toBe('129.1M');
    expect(parametersLabel(2_768_345_600)).toBe('2.8B');
    expect(parametersLabel('0.1M')).toBe('0.1M');
    expect(parametersLabel(undefined)).toBeUndefined();
    expect(bundledLabel({ id: 'x', folder: 'x', architecture: 'mamba2', parameters: 4505024 })).toBe(
      'Mamba-2 · 4.5M',
    );
    expect(bundledLabel({ id: 'x', folder: 'x' })).toBe('Mamba-1');
    const m = {
      default: 'one',
      models: [
        { id: 'org/one', folder: 'one' },
        { id: 'two', folder: 'two-folder', architecture: 'mamba2' },
      ],
    };
    expect(pickBundledModel(m, undefined, 'm')).toEqual({ entry: m.models[0] });
    expect(pickBundledModel(m, 'two', 'm').entry.folder).toBe('two-folder');
    expect(pickBundledModel(m, ' two-folder ', 'm').entry.id).toBe('two');
    expect(pickBundledModel(m, 'three', 'm')).toEqual({ entry: m.models[0], unknown: 'three' });
  });
});

describe('the shipped manifest: both families, the Mamba-1 the default', () => {
  const MODELS = 'public/models';
  // The fields the app does not read are checked here too: they are what the model card and the docs say.
  interface ShippedEntry extends BundledModel {
    parameters: number;
    files: string[];
    architecture: string;
    sizeBytes: number;
    dataLicenses: string;
    dtype: string;
    results: string;
    retraining: string;
    tasks?: string;
  }
  const shipped = parseBundledManifest(
    JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')),
    'manifest.json',
  ) as { default: string; models: ShippedEntry[] };

  it('lists the Mamba-1 default and the Mamba-2 beside it', () => {
    expect(defaultBundledModel(shipped, 'manifest.json').id).toBe('soup-mamba-4.6m');
    expect(shipped.models.map((e) => [e.id, bundledLabel(e)])).toEqual([
      ['soup-mamba-4.6m', 'Mamba-1 · 4.6M'],
      ['soup-mamba2-4.5m', 'Mamba-2 · 4.5M'],
    ]);
    const m2 = shipped.models[1]!;
    expect(m2.name).toBe('State Soup Mamba-2 4.5M');
    // Same training data, so the same licences.
    for (const k of ['license', 'dataLicenses', 'dtype', 'results'] as const)
      expect(m2[k], k).toEqual(shipped.models[0]![k]);
    // One task suite for both: the Mamba-2 ships none and reads the default's, as `soup study` does.
    expect(m2.files).not.toContain('tasks.json');
    expect(bundledTasksOf(shipped, m2)).toEqual({
      folder: 'soup-mamba-4.6m',
      file: 'tasks.json',
      own: false,
    });
    expect(bundledTasksOf(shipped, shipped.models[0])).toEqual({
      folder: 'soup-mamba-4.6m',
      file: 'tasks.json',
      own: true,
    });
    expect(bundledTasksOf(undefined, m2)).toBeUndefined();
  });

  for (const i of [0, 1]) {
    it(`entry ${i}: its files exist, its architecture is config.json's model_type, its size and count are the file's`, () => {
      const e = shipped.models[i]!;
      const dir = join(MODELS, e.folder);
      for (const f of e.files) expect(existsSync(join(dir, f)), f).toBe(true);
      const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type: string };
      expect(cfg.model_type).toBe(e.architecture);
      expect(statSync(join(dir, 'model.safetensors')).size).toBe(e.sizeBytes);
      const st = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
      const count = st.names.reduce((n, t) => n + st.info(t).shape.reduce((a, b) => a * b, 1), 0);
      expect(count).toBe(e.parameters);
    });
  }

  it("the Mamba-2's retraining link points at a heading of training/README.md", () => {
    const [file, anchor] = shipped.models[1]!.retraining.split('#') as [string, string];
    const slugs = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('## '))
      .map((l) =>
        l
          .slice(3)
          .toLowerCase()
          .replace(/[^\w\s-]/g, '')
          .replace(/\s/g, '-'),
      );
    expect(slugs).toContain(anchor);
  });
});
