/**
 * The playground page. Without WebGPU it shows what is needed instead; otherwise it applies a shared recipe
 * from the URL (if any), loads the bundled default model in the engine worker, and lays out the panels.
 */
import { useEffect, useState } from 'react';
import { ErrorBanner } from './features/errors/ErrorBanner.tsx';
import { NoWebGpu } from './features/errors/NoWebGpu.tsx';
import { GenerationPanel } from './features/generation/GenerationPanel.tsx';
import { InspectorPanel } from './features/inspector/InspectorPanel.tsx';
import { LibraryPanel } from './features/library/LibraryPanel.tsx';
import { MixerPanel } from './features/mixer/MixerPanel.tsx';
import { loadDefaultModel } from './features/model/engine.ts';
import { ModelPanel } from './features/model/ModelPanel.tsx';
import { PerplexityPanel } from './features/perplexity/PerplexityPanel.tsx';
import { applyRecipeUndoably } from './features/share/apply.ts';
import { decodeRecipeLink } from './features/share/link.ts';
import { UndoNotice } from './features/share/UndoNotice.tsx';
import { RECIPE_PARAM, SharePanel } from './features/share/SharePanel.tsx';
import { RetrievalPanel } from './features/retrieval/RetrievalPanel.tsx';
import { StoragePanel } from './features/storage/StoragePanel.tsx';
import { StoriesPanel } from './features/stories/StoriesPanel.tsx';
import { StudiesView } from './features/studies/StudiesView.tsx';
import { PresenterToggle } from './features/present/PresenterToggle.tsx';
import { useViewStore } from './features/present/view.ts';

async function webGpuProblem(): Promise<string | undefined> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return 'This browser does not expose WebGPU (navigator.gpu is missing).';
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter)
      return 'WebGPU is present but no GPU adapter is available (hardware acceleration may be off or the GPU blocklisted).';
  } catch (e) {
    return `WebGPU failed to start: ${(e as Error).message}`;
  }
  return undefined;
}

let started = false;

/**
 * Runs once per page: apply the link's recipe, then load the default model. The recipe is checked whole
 * before anything changes, so a bad link leaves the saved mix, query and texts as they were.
 */
async function startOnce(setShareError: (s: string) => void) {
  if (started) return;
  started = true;
  const hash = new URLSearchParams(window.location.hash.slice(1)).get(RECIPE_PARAM);
  if (hash) {
    try {
      applyRecipeUndoably(await decodeRecipeLink(hash), 'Opened the shared link’s mix.', 'link');
    } catch (e) {
      setShareError(`${(e as Error).message} Your saved work is unchanged.`);
    }
  }
  void loadDefaultModel();
}

export function App() {
  const [gpu, setGpu] = useState<'checking' | 'ok' | string>('checking');
  const [shareError, setShareError] = useState<string>();
  const present = useViewStore((s) => s.present);
  const hidden = useViewStore((s) => s.hidden);
  const shown = (p: (typeof hidden)[number]) => !hidden.includes(p);

  useEffect(() => {
    void webGpuProblem().then((p) => setGpu(p ?? 'ok'));
  }, []);
  useEffect(() => {
    if (gpu === 'ok') void startOnce(setShareError);
  }, [gpu]);
  useEffect(() => {
    // Large type: every size in the stylesheet is relative to the root's.
    document.documentElement.classList.toggle('present', present);
  }, [present]);

  if (gpu !== 'ok' && gpu !== 'checking') return <NoWebGpu reason={gpu} />;
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to the playground
      </a>
      <header className="app-header">
        <h1>State Soup Playground</h1>
        <p className="tagline">
          Store Mamba’s recurrent state after it reads a text, mix stored states with sliders, and watch
          generations and perplexity change. After Pióro et al., <cite>State Soup</cite> (2024).{' '}
          {shown('bench') && <a href="?bench">Benchmark your GPU</a>}
        </p>
        <PresenterToggle />
      </header>
      <ErrorBanner />
      <UndoNotice place="link" />
      {shareError && (
        <p className="banner banner-error" role="alert">
          {shareError}
        </p>
      )}
      {/* The one main landmark; the skip link lands here (tabIndex so focus moves, not only the scroll). */}
      <main id="main" tabIndex={-1}>
        {gpu === 'checking' ? (
          <p role="status">Checking for WebGPU…</p>
        ) : new URLSearchParams(window.location.search).get('view') === 'studies' ? (
          // Until the views' navigation (issue 12) lands, ?view=studies opens the Studies view on its own.
          <div className="studies-page">
            <ModelPanel />
            <StudiesView />
          </div>
        ) : (
          <div className="layout">
            <div className="col col-left">
              <ModelPanel />
              {shown('stories') && <StoriesPanel />}
              <LibraryPanel />
            </div>
            <div className="col col-mid">
              <MixerPanel />
              {shown('retrieval') && <RetrievalPanel />}
              <PerplexityPanel />
            </div>
            <div className="col col-right">
              <GenerationPanel />
              {shown('inspector') && <InspectorPanel />}
              {shown('share') && <SharePanel />}
              {shown('storage') && <StoragePanel />}
            </div>
          </div>
        )}
      </main>
    </div>
  );
}
