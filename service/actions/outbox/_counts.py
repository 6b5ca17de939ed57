"""What a dispatcher pass did, counted: the figures the dispatcher logs and tests read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["DispatchCounts", "SendOutcome"]


class SendOutcome(StrEnum):
    """How a failed send was settled (``_reconcile.handle_send_error``)."""

    SENT = "sent"  # the provider had it after all (found by a lookup)
    RETRIED = "retried"  # planned again after a backoff
    FAILED = "failed"  # failed for good


@dataclass(slots=True)
class DispatchCounts:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    expired: int = 0
    skipped: int = 0
    reconciled: int = 0
    deferred: int = 0  # claimed inside the participant's quiet hours: planned again for later
    cap_wait_s: float = field(default=0.0, compare=False)  # 0: the cap did not stop this pass

    def settled(self, outcome: SendOutcome) -> None:
        """Count one failed send by how it was settled."""
        if outcome is SendOutcome.SENT:
            self.sent += 1
        elif outcome is SendOutcome.RETRIED:
            self.retried += 1
        else:
            self.failed += 1

    def _figures(self) -> dict[str, Any]:
        figures = asdict(self)
        figures.pop("cap_wait_s")
        return figures

    @property
    def any(self) -> bool:
        return any(self._figures().values())

    def summary(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self._figures().items())
