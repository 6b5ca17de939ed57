"""A participant's messages (``GET /api/v1/participants/{study_id}/messages``).

The response is the action's own read model, :class:`MessageView` (planned ones
rendered as they would be sent now); it is named here so that every body the API
speaks is found under ``service.web.schemas``.
"""

from __future__ import annotations

from service.actions.views import MessageView

__all__ = ["MessageView"]
