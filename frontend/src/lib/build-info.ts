/** The app's version (package.json) and build id (commit and build time), fixed at build time. */
export const APP_VERSION: string = __APP_VERSION__;
export const BUILD_ID: string = __APP_BUILD_ID__;
