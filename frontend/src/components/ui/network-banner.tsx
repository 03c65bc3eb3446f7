import { useEffect, useRef, useState } from 'react';

import { useOnline } from '@/lib/network';

/** Says when the device goes offline, and briefly when it is back online. */
export function NetworkBanner() {
  const online = useOnline();
  const [showBack, setShowBack] = useState(false);
  const wasOffline = useRef(!online);

  useEffect(() => {
    if (!online) {
      wasOffline.current = true;
      setShowBack(false);
      return;
    }
    if (!wasOffline.current) return;
    wasOffline.current = false;
    setShowBack(true);
    const timer = setTimeout(() => setShowBack(false), 4000);
    return () => clearTimeout(timer);
  }, [online]);

  return (
    <div role="status" aria-live="polite" className="network-banner-region">
      {!online && (
        <p className="network-banner network-banner-offline">
          You are offline. Uploads are kept on this device and sent when the connection returns.
        </p>
      )}
      {online && showBack && <p className="network-banner network-banner-online">Back online.</p>}
    </div>
  );
}
