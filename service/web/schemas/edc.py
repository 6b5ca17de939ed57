"""The EDC feed's staff view (``GET /api/v1/edc/status``).

The body is :class:`EdcPushStatus` as the action returns it (last run, pending,
failures, hand-edit conflicts); the REDCap set-up files and the ODM documents are
files, not JSON bodies. Named here so every body the API speaks is found under
``service.web.schemas``.
"""

from __future__ import annotations

from service.actions.edc import EdcPushStatus

__all__ = ["EdcPushStatus"]
