import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from '@/app/app';
import { reportReactError, startErrorReporting } from '@/lib/error-reporting/start';
import { startInstallPromptCapture } from '@/lib/install-prompt';
import { registerServiceWorker } from '@/lib/service-worker';
import '@/app/styles.css';

startInstallPromptCapture();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root, {
  onUncaughtError: (error, info) => {
    console.error(error);
    reportReactError(error, info);
  },
}).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

registerServiceWorker();
// After the first render, off the critical path: fetches the SDK only when a DSN is configured.
void startErrorReporting();
