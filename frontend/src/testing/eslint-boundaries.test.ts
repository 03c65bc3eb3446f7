// @vitest-environment node
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The layer rules of eslint.config.js are active: deliberately wrong imports, linted with the
 * project's own configuration, are reported by the rule that forbids them.
 */
const frontend = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: frontend });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(frontend, filePath) });
  return result!.messages.map((message) => message.ruleId ?? `fatal: ${message.message}`);
}

// The first lint loads the config, the parser and (for no-cycle) the import graph: seconds.
describe('ESLint boundaries', { timeout: 60_000 }, () => {
  it('a feature may not import another feature', async () => {
    const code = "import { HistoryPage } from '@/features/history/components/history-page';\nexport { HistoryPage };\n";
    expect(await ruleIds('src/features/reports/components/wrong.tsx', code)).toEqual(['import-x/no-restricted-paths']);
  });

  it('a feature may import its own modules', async () => {
    const code = "import { getReports } from '@/features/reports/api/reports';\nexport { getReports };\n";
    expect(await ruleIds('src/features/reports/components/fine.tsx', code)).toEqual([]);
  });

  it('a feature may not import the app', async () => {
    const code = "import { createAppRouter } from '@/app/router';\nexport { createAppRouter };\n";
    expect(await ruleIds('src/features/upload/utils/wrong.ts', code)).toEqual(['import-x/no-restricted-paths']);
  });

  it.each(['src/lib/wrong.ts', 'src/components/ui/wrong.tsx', 'src/types/wrong.ts', 'src/config/wrong.ts'])(
    'shared code (%s) may not import a feature',
    async (filePath) => {
      const code = "import { getReports } from '@/features/reports/api/reports';\nexport { getReports };\n";
      expect(await ruleIds(filePath, code)).toEqual(['import-x/no-restricted-paths']);
    },
  );

  it('hooks are called unconditionally', async () => {
    const code =
      "import { useState } from 'react';\nexport function useMaybe(on: boolean) {\n  if (on) useState(0);\n}\n";
    expect(await ruleIds('src/lib/wrong-hook.ts', code)).toEqual(['react-hooks/rules-of-hooks']);
  });

  describe('import cycles', () => {
    let dir = '';

    beforeAll(() => {
      // no-cycle follows real files: two modules that import each other, removed afterwards.
      dir = mkdtempSync(path.join(frontend, 'src/lib/eslint-cycle-'));
      writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = () => b;\n");
      writeFileSync(path.join(dir, 'b.ts'), "import { a } from './a';\nexport const b = () => a;\n");
    });

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('are reported', async () => {
      const code = "import { b } from './b';\nexport const a = () => b;\n";
      expect(await ruleIds(path.relative(frontend, path.join(dir, 'a.ts')), code)).toEqual(['import-x/no-cycle']);
    });
  });
});
