"""A forward job's states: the one place that says which changes are allowed.

    pending ──► sending ──► delivered
       ▲          │ │ │
       └──────────┘ │ └──► superseded (the primary gave way to the fallback)
     (postponed,    ▼
     lease lost)   dead ──► pending (an admin retried it)

`sending → sending` is a claim of a job whose worker's lease ran out.
"""

from __future__ import annotations

from relaypacs.core.states import Transitions
from relaypacs.pacs.errors import IllegalJobTransition
from relaypacs.pacs.models import JobState

S = JobState

ALLOWED: dict[JobState, frozenset[JobState]] = {
    S.pending: frozenset({S.sending}),
    S.sending: frozenset({S.sending, S.pending, S.delivered, S.dead, S.superseded}),
    S.dead: frozenset({S.pending}),
    S.delivered: frozenset(),
    S.superseded: frozenset(),
}

# Still to be worked on (counted in the queue depth).
OPEN = (S.pending, S.sending)


TABLE = Transitions(ALLOWED, IllegalJobTransition)
can_transition = TABLE.can_transition
sources = TABLE.sources
check = TABLE.check
