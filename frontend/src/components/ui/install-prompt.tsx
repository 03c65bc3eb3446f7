import { useInstallPrompt, type InstallPromptOptions } from '@/lib/install-prompt';

/** Our own "Install RelayPACS" invitation, and the confirmation once installed. */
export function InstallPrompt(options: InstallPromptOptions) {
  const prompt = useInstallPrompt(options);
  if (prompt.installed) {
    return (
      <section className="install-prompt" aria-labelledby="install-done-title">
        <p id="install-done-title" role="status">
          RelayPACS is installed. Open it from your home screen or app list.
        </p>
        <button type="button" className="button button-secondary" onClick={prompt.acknowledgeInstalled}>
          Close
        </button>
      </section>
    );
  }
  if (!prompt.visible) return null;
  return (
    <section className="install-prompt" aria-labelledby="install-title">
      <h2 id="install-title">Install RelayPACS</h2>
      <p>Add it to this device: it opens like an app and keeps uploads going when the network drops.</p>
      <div className="button-row">
        <button type="button" className="button" onClick={() => void prompt.install()}>
          Install
        </button>
        <button type="button" className="button button-secondary" onClick={prompt.dismiss}>
          Not now
        </button>
      </div>
    </section>
  );
}
