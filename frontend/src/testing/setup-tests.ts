import 'fake-indexeddb/auto';
import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

// `findBy*`/`waitFor` wait up to 5 s (the default 1 s is too short on a loaded 2-core CI machine,
// where a whole screen renders and settles more slowly); a failing expectation still fails.
configure({ asyncUtilTimeout: 5_000 });

afterEach(() => {
  cleanup();
});
