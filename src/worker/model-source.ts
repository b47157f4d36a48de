/**
 * The protocol's ModelSource (what the page asks for) as the loader's ModelSource (how bytes are read), and
 * the id the app shows for it.
 */
import { DownloadError } from '../model/errors.ts';
import { bundledSource, filesSource, hubSource, type ModelSource as LoaderSource } from '../model/sources.ts';
import type { ModelSource } from './protocol.ts';

export function loaderSource(source: ModelSource): LoaderSource {
  switch (source.kind) {
    case 'bundled':
      return listedFilesOnly(bundledSource(source.folder, source.modelsUrl), source.files);
    case 'hub':
      return hubSource({ repo: source.repo, ...(source.hubUrl ? { hubUrl: source.hubUrl } : {}) });
    case 'files':
      return filesSource(source.files);
  }
}

/**
 * A bundled folder holds only the files its manifest lists. Static servers with a single-page-app fallback
 * answer any other path with index.html and status 200, which the loader would read as a corrupt
 * model.safetensors.index.json; with the list, an unlisted file is "not found" without a request.
 */
function listedFilesOnly(source: LoaderSource, files: string[] | undefined): LoaderSource {
  if (!files) return source;
  return {
    id: source.id,
    label: (f) => source.label(f),
    open: (f, opts) => {
      if (!files.includes(f)) {
        return Promise.reject(
          new DownloadError(`${source.label(f)} is not in the model's manifest.`, 'not-found', f),
        );
      }
      return source.open(f, opts);
    },
    ...(source.isCached ? { isCached: (f: string) => source.isCached!(f) } : {}),
  };
}

export function modelIdOf(source: ModelSource): string {
  switch (source.kind) {
    case 'bundled':
      return source.id;
    case 'hub':
      return source.repo;
    case 'files':
      return (
        // webkitRelativePath is a browser File's (the folder picker); Node's File type lacks it.
        (
          source.files.find((f) => f.name === 'config.json') as { webkitRelativePath?: string } | undefined
        )?.webkitRelativePath?.split('/')[0] || 'local files'
      );
  }
}
