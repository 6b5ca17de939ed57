"""The coordinators' dashboard: server-rendered pages under /dashboard.

``DASHBOARD_HANDLERS`` lists its controllers; ``dashboard_router`` mounts them once
with what every page shares: the ``viewer`` dependency (the session cookie), the CSRF
guard on every unsafe request, HTML error pages, and no place in the OpenAPI schema.
"""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from service.web.dashboard.alerts_board import AlertsBoardController
from service.web.dashboard.audit_page import AuditPageController
from service.web.dashboard.auth_pages import DashboardAuthController
from service.web.dashboard.csrf import csrf_guard
from service.web.dashboard.edc_page import EdcPageController
from service.web.dashboard.enrol_page import EnrolPageController
from service.web.dashboard.errors import DASHBOARD_EXCEPTION_HANDLERS
from service.web.dashboard.headers import SECURITY_HEADERS
from service.web.dashboard.inbox_strangers import InboxStrangersController
from service.web.dashboard.overview import OverviewController
from service.web.dashboard.participant_forms import ParticipantFormsController
from service.web.dashboard.participant_list import ParticipantListController
from service.web.dashboard.participant_page import ParticipantPageController
from service.web.dashboard.session import provide_viewer
from service.web.dashboard.sites_page import SitesPageController
from service.web.dashboard.staff_pages import StaffPagesController

DASHBOARD_HANDLERS: list[type] = [
    DashboardAuthController,
    OverviewController,
    AlertsBoardController,
    InboxStrangersController,
    EnrolPageController,
    ParticipantPageController,
    ParticipantFormsController,
    ParticipantListController,
    StaffPagesController,
    SitesPageController,
    EdcPageController,
    AuditPageController,
]


def dashboard_router(*extra: type) -> Router:
    """The dashboard mounted at ``/`` (``extra`` handlers: tests' probes)."""
    return Router(
        path="/",
        route_handlers=[*DASHBOARD_HANDLERS, *extra],
        dependencies={"viewer": Provide(provide_viewer)},
        guards=[csrf_guard],
        exception_handlers=DASHBOARD_EXCEPTION_HANDLERS,
        include_in_schema=False,
        response_headers=SECURITY_HEADERS,
    )
