/** The one reader of the bundled models' manifest (src/model/sources.ts), used by the app and the Node CLI. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DownloadError } from '../src/model/errors.ts';
import { bundledModelDir } from '../src/model/node.ts';
import { defaultBundledModel, fetchBundledManifest, parseBundledManifest } from '../src/model/sources.ts';

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
});
