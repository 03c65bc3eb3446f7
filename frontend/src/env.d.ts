/* __APP_VERSION__ and __APP_BUILD_ID__ are declared in build-info.d.ts. */

interface ImportMetaEnv {
  /** Build-time Sentry DSN for the web app; else the gateway's SENTRY_BROWSER_DSN. */
  readonly VITE_SENTRY_DSN?: string;
  readonly VITE_SENTRY_ENVIRONMENT?: string;
  readonly VITE_SENTRY_RELEASE?: string;
  readonly VITE_SENTRY_TRACES_SAMPLE_RATE?: string;
}
