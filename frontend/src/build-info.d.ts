/** Set by vite.config.ts `define` at build time (and in Vitest). */
declare const __APP_VERSION__: string;
declare const __APP_BUILD_ID__: string;
