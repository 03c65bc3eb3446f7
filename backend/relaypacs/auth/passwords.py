"""Password policy: 12–128 characters, any Unicode, strength by estimate (zxcvbn ≥ 3)."""

from __future__ import annotations

import re

from relaypacs.auth.errors import WeakPassword

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3


def _personal_words(*values: str | None) -> list[str]:
    words: list[str] = []
    for value in values:
        if value:
            words.append(value)
            words.extend(w for w in re.split(r"[\s@._+-]+", value) if len(w) >= 3)
    return words


def check_strength(
    password: str,
    *,
    username: str | None = None,
    email: str | None = None,
    full_name: str | None = None,
) -> None:
    """Raise WeakPassword naming the reason, or return quietly."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"The password must be at least {MIN_LENGTH} characters.", reason="too_short"
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            f"The password must be at most {MAX_LENGTH} characters.", reason="too_long"
        )
    from zxcvbn import zxcvbn  # ~12 MB of word lists: loaded on first use only

    # zxcvbn's cost grows with length; the first 100 characters decide its score.
    result = zxcvbn(password[:100], user_inputs=_personal_words(username, email, full_name))
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        hint = feedback.get("warning") or "It is too easy to guess."
        suggestions = " ".join(feedback.get("suggestions") or [])
        raise WeakPassword(
            f"The password is too easy to guess: {hint} {suggestions}".strip(),
            reason="too_guessable",
            score=result["score"],
        )
