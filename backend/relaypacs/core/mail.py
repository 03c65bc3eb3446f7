"""Outgoing mail over SMTP (aiosmtplib); in development without SMTP_HOST, the log."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from relaypacs.core.config import CoreSettings, Environment
from relaypacs.core.logging import get_logger

log = get_logger("relaypacs.mail")


async def send(settings: CoreSettings, *, to: str, subject: str, body: str) -> None:
    """Send a plain-text message; never raises (a mail outage must not fail a request)."""
    if not settings.smtp_host:
        if settings.environment is Environment.production:
            log.warning("mail_not_configured", subject=subject)
        else:
            log.info("mail_not_sent_no_smtp", subject=subject, body=body)
        return
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            start_tls=settings.smtp_starttls and not settings.smtp_use_tls,
            use_tls=settings.smtp_use_tls,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.error("mail_failed", subject=subject, error=type(exc).__name__)
