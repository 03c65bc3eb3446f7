/** The app's version (package.json), set by vite.config.ts. */
declare const __APP_VERSION__: string;

interface ImportMetaEnv {
  /** Build-time Sentry DSN for the web app; else the gateway's SENTRY_BROWSER_DSN. */
  readonly VITE_SENTRY_DSN?: string;
  readonly VITE_SENTRY_ENVIRONMENT?: string;
  readonly VITE_SENTRY_RELEASE?: string;
  readonly VITE_SENTRY_TRACES_SAMPLE_RATE?: string;
}
