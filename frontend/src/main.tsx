import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from '@/app/app';
import { startInstallPromptCapture } from '@/lib/install-prompt';
import { registerServiceWorker } from '@/lib/service-worker';
import '@/app/styles.css';

startInstallPromptCapture();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

registerServiceWorker();
