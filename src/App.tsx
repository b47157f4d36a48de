/**
 * The playground page. Without WebGPU it shows what is needed instead; otherwise it applies a shared recipe
 * from the URL (if any), loads the bundled default model in the engine worker, and lays out the panels.
 */
import { useEffect, useState } from 'react';
import { ErrorBanner } from './features/errors/ErrorBanner.tsx';
import { NoWebGpu } from './features/errors/NoWebGpu.tsx';
import { LabView } from './features/lab/LabView.tsx';
import { LessonView } from './features/lesson/LessonView.tsx';
import { loadDefaultModel } from './features/model/engine.ts';
import { ModelStatus } from './features/model/ModelStatus.tsx';
import { applyRecipeUndoably } from './features/share/apply.ts';
import { decodeRecipeLink } from './features/share/link.ts';
import { UndoNotice } from './features/share/UndoNotice.tsx';
import { RECIPE_PARAM } from './features/share/SharePanel.tsx';
import { StudiesView } from './features/studies/StudiesView.tsx';
import { PresenterToggle } from './features/present/PresenterToggle.tsx';
import { useViewStore } from './features/present/view.ts';
import { useNavigation } from './features/views/navigation.ts';
import { ViewNav } from './features/views/ViewNav.tsx';

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
  let linkModel: string | undefined;
  if (hash) {
    try {
      const recipe = await decodeRecipeLink(hash);
      applyRecipeUndoably(recipe, 'Opened the shared link’s mix.', 'link');
      linkModel = recipe.model;
    } catch (e) {
      setShareError(`${(e as Error).message} Your saved work is unchanged.`);
    }
  }
  // The bundled model the link was made with (a Mamba-2 link opens on the Mamba-2), else ?model=, else the default.
  void loadDefaultModel(linkModel);
}

export function App() {
  const [gpu, setGpu] = useState<'checking' | 'ok' | string>('checking');
  const [shareError, setShareError] = useState<string>();
  const present = useViewStore((s) => s.present);
  const hidden = useViewStore((s) => s.hidden);
  const view = useNavigation((s) => s.view);
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
        <div className="app-title">
          <h1>State Soup Playground</h1>
          {!present && <ViewNav />}
          <ModelStatus />
          <PresenterToggle />
        </div>
        {!present && view !== 'lesson' && (
          <p className="tagline">
            Store Mamba’s recurrent state after it reads a text, mix stored states with sliders, and watch
            generations and perplexity change. After Pióro et al., <cite>State Soup</cite> (2024).{' '}
            {shown('bench') && <a href="?bench">Benchmark your GPU</a>}
          </p>
        )}
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
        ) : view === 'lab' ? (
          <LabView />
        ) : view === 'studies' ? (
          <StudiesView />
        ) : (
          <LessonView />
        )}
      </main>
    </div>
  );
}
