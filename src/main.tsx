import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { BenchPage } from './features/bench/BenchPage.tsx';
import './styles/app.css';
import './styles/views.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {new URLSearchParams(window.location.search).has('bench') ? <BenchPage /> : <App />}
  </StrictMode>,
);
