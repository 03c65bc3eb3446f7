import { useEffect, useRef, useState } from 'react';

import { saveFile } from '@/lib/download';

/** The backup codes as a text file's content (one code a line). */
export function backupCodesText(codes: string[], username: string): string {
  return [
    `RelayPACS backup codes for ${username}`,
    `Created ${new Date().toISOString()}`,
    'Each code works once, in place of an authenticator code.',
    '',
    ...codes,
    '',
  ].join('\n');
}

/**
 * Freshly issued backup codes, shown this once: they live only in this component's state
 * (never stored), and "I have saved them" drops them for good.
 */
export function BackupCodesPanel({ codes, username, onDone }: { codes: string[]; username: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  async function copy() {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  }

  function download() {
    saveFile(new Blob([backupCodesText(codes, username)], { type: 'text/plain' }), 'relaypacs-backup-codes.txt');
  }

  return (
    <div className="backup-codes" aria-labelledby="backup-codes-title">
      <h3 id="backup-codes-title" ref={heading} tabIndex={-1}>
        Your backup codes
      </h3>
      <p>
        Keep these somewhere safe. Each works once if you lose your phone. <strong>They are shown only now</strong>:
        after you leave this page they cannot be seen again (you can make a new set).
      </p>
      <ul className="backup-code-list mono" aria-label="Backup codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="button-row">
        <button type="button" className="button button-secondary" onClick={() => void copy()}>
          Copy codes
        </button>
        <button type="button" className="button button-secondary" onClick={download}>
          Download as text file
        </button>
        <button type="button" className="button" onClick={onDone}>
          I have saved my codes
        </button>
      </div>
      <p role="status" className="field-hint">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'failed' ? 'Copying failed: select the codes or download them.' : ''}
      </p>
    </div>
  );
}
