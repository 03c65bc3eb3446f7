// Bundled (by tus-clients.mjs, with Vite in library mode) into one script the test page loads:
// Uppy's core and its tus plugin exactly as they ship on npm.
import Uppy from '@uppy/core';
import Tus from '@uppy/tus';

globalThis.UppyBundle = { Uppy, Tus };
