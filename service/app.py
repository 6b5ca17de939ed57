"""The Litestar application factory.

``create_app`` takes its collaborators as arguments (gateway, clock, translator,
protocol); whatever is not given is built from settings by
``service.composition.build_runtime``. The lifespan is ``composition.running``, the
same start-up and shut-down as ``followup worker``. The runtime is registered once, as
the app-wide ``rt`` dependency every controller receives.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin

from service.actions.edc import edc_mapping, edc_metrics
from service.actions.errors import ActionError
from service.actions.inbound import inbox_metrics
from service.actions.views import register_metrics_source
from service.composition import build_runtime, running
from service.db.errors import ColumnValueInvalid
from service.domain.protocol import Protocol
from service.jobs.scheduler import DispatchScheduler
from service.ports import Clock, RedcapApi, SmsGateway, Translator
from service.settings import Settings
from service.web.app import app_router
from service.web.auth import provide_runtime
from service.web.controllers.alerts import AlertController
from service.web.controllers.checkins import CheckinRecordController
from service.web.controllers.edc_odm import OdmController
from service.web.controllers.edc_redcap import RedcapSetupController
from service.web.controllers.edc_status import EdcStatusController
from service.web.controllers.health import HealthController
from service.web.controllers.inbox import InboxController
from service.web.controllers.messages import ParticipantMessagesController
from service.web.controllers.metrics import MetricsController
from service.web.controllers.mobile import MobileAuthController, MobileController
from service.web.controllers.participants import ParticipantController
from service.web.controllers.sessions import ParticipantSessionController
from service.web.controllers.staff import AuthController, SiteController
from service.web.controllers.webhooks import TwilioWebhookController
from service.web.dashboard import dashboard_router
from service.web.dashboard.render import template_config
from service.web.error_routing import any_http_error, any_unexpected_error
from service.web.errors import (
    action_error_handler,
    model_validation_handler,
)
from service.web.input_guard import InputGuard
from service.web.openapi_truth import tell_the_truth
from service.web.outage_watch import ending_outages
from service.web.request_id import with_request_id
from service.web.static_files import favicon, static_files_router, swagger_render_plugin

log = logging.getLogger("service.app")


def create_app(
    settings: Settings,
    *,
    gateway: SmsGateway | None = None,
    clock: Clock | None = None,
    translator: Translator | None = None,
    protocol: Protocol | None = None,
    redcap: RedcapApi | None = None,
    run_scheduler: bool = True,
    demo: bool = False,
    replan: bool | None = None,
) -> Litestar:
    runtime = build_runtime(
        settings,
        gateway=gateway,
        clock=clock,
        translator=translator,
        protocol=protocol,
        redcap=redcap,
    )
    edc_mapping(runtime)  # a protocol the EDC feed cannot map stops start-up here
    runtime.red_flags.warm()  # the first SMS should not wait for the Spanish dictionary
    register_metrics_source("edc", edc_metrics)
    register_metrics_source("inbox", inbox_metrics)
    scheduler = DispatchScheduler(runtime) if run_scheduler else None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with running(runtime, scheduler=scheduler, demo=demo, replan=replan):
            yield

    app = Litestar(
        route_handlers=[
            HealthController,
            AuthController,
            ParticipantController,
            ParticipantSessionController,
            SiteController,
            InboxController,
            MobileAuthController,
            MobileController,
            ParticipantMessagesController,
            TwilioWebhookController,
            AlertController,
            CheckinRecordController,
            RedcapSetupController,
            OdmController,
            EdcStatusController,
            MetricsController,
            static_files_router(),
            favicon,
            dashboard_router(),
            app_router(),
        ],
        template_config=template_config(),
        plugins=[HTMXPlugin()],
        lifespan=[lifespan],
        dependencies={"rt": Provide(provide_runtime)},
        exception_handlers={
            ActionError: action_error_handler,
            HTTPException: any_http_error,
            ColumnValueInvalid: model_validation_handler,
            500: any_unexpected_error,
        },
        middleware=[InputGuard()],
        # Logging is configured once per process by service.logs; Litestar's own
        # set-up would replace the root handlers and with them the redaction.
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="MSC-ROLE follow-up service",
            version="1.0.0",
            description=(
                "Visit calendars, SMS reminders, check-ins and safety alerts for the "
                "MSC-ROLE trial. Staff authenticate with POST /api/v1/auth/token."
            ),
            path="/schema",
            render_plugins=[swagger_render_plugin()],  # its assets from /static, not a CDN
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="opaque")
                }
            ),
        ),
        cors_config=CORSConfig(allow_origins=[]),
        debug=False,
    )
    app.asgi_handler = with_request_id(ending_outages(app.asgi_handler))
    tell_the_truth(app.openapi_schema)  # the cached document /schema serves
    app.state.runtime = runtime
    app.state.scheduler = scheduler
    # The demo's phones (/demo/phone): only with made-up numbers and console SMS.
    app.state.demo_phone = demo and settings.sms_backend == "console"
    return app
