/**
 * The lab: every panel, each control beside its effect. The mixer, the live perplexity and the continuation sit
 * side by side; the library and the model on the left; retrieval, sharing and storage in drawers that open in
 * place; the inspector below.
 */
import type { ReactNode } from 'react';
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { GenerationPanel } from '../generation/GenerationPanel.tsx';
import { InspectorPanel } from '../inspector/InspectorPanel.tsx';
import { LibraryPanel } from '../library/LibraryPanel.tsx';
import { MixerPanel } from '../mixer/MixerPanel.tsx';
import { ModelPanel } from '../model/ModelPanel.tsx';
import { PerplexityPanel } from '../perplexity/PerplexityPanel.tsx';
import { useViewStore } from '../present/view.ts';
import { RetrievalPanel } from '../retrieval/RetrievalPanel.tsx';
import { SharePanel } from '../share/SharePanel.tsx';
import { StoragePanel } from '../storage/StoragePanel.tsx';

/** Which drawers are open, kept across reloads (a drawer someone works in stays open). */
const useDrawers = create<{ open: Record<string, boolean>; set(title: string, on: boolean): void }>()(
  persist(
    (set) => ({
      open: {},
      set: (title, on) => set((s) => ({ open: { ...s.open, [title]: on } })),
    }),
    { name: 'soup.drawers.v1' },
  ),
);

/** A drawer: closed until asked for, then the panel opens in place. */
function Drawer({ title, children }: { title: string; children: ReactNode }) {
  const open = useDrawers((s) => s.open[title] === true);
  return (
    <details
      className="drawer"
      open={open}
      onToggle={(e) => useDrawers.getState().set(title, e.currentTarget.open)}
    >
      <summary>{title}</summary>
      {children}
    </details>
  );
}

export function LabView() {
  const hidden = useViewStore((s) => s.hidden);
  const shown = (p: (typeof hidden)[number]) => !hidden.includes(p);
  return (
    <div className="layout lab-layout">
      <div className="col col-left">
        <LibraryPanel />
        {shown('retrieval') && (
          <Drawer title="Retrieval">
            <RetrievalPanel />
          </Drawer>
        )}
        {shown('share') && (
          <Drawer title="Share">
            <SharePanel />
          </Drawer>
        )}
        {shown('storage') && (
          <Drawer title="Storage">
            <StoragePanel />
          </Drawer>
        )}
        <ModelPanel />
      </div>
      <div className="col col-mid">
        <MixerPanel />
        <PerplexityPanel />
      </div>
      <div className="col col-right">
        <GenerationPanel />
        {shown('inspector') && <InspectorPanel />}
      </div>
    </div>
  );
}
