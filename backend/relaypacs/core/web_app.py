"""Whether the PWA's build is there to serve (`relaypacs.web` serves it)."""

from __future__ import annotations

from relaypacs.core.config import CoreSettings


def web_app_built(settings: CoreSettings) -> bool:
    return (settings.frontend_dist_dir / "index.html").is_file()
