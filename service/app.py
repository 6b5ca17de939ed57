"""The Litestar application factory.

``create_app`` takes its collaborators as arguments (gateway, clock, translator,
protocol); whatever is not given is built from settings. The lifespan opens the
database, checks migrations, syncs the sites from the protocol file and starts the
dispatcher's scheduler; all of it is undone on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from tortoise.exceptions import ValidationError

from service.actions.dispatch import reconcile_stale_claims
from service.actions.edc_mapping import edc_mapping
from service.actions.edc_metrics import edc_metrics
from service.actions.errors import ActionError
from service.actions.replanning import replan_if_protocol_changed
from service.actions.sites import sync_sites
from service.adapters.gateways import build_gateway
from service.adapters.holidays_cl import non_working_predicate
from service.adapters.i18n import load_renderer
from service.adapters.redcap_http import build_redcap
from service.db.lifecycle import close_database, ensure_migrated, open_database
from service.domain.protocol import Protocol
from service.domain.protocol_loader import load_protocol
from service.jobs.scheduler import DispatchScheduler
from service.metrics import register_metrics_source
from service.ports import Clock, RedcapApi, SmsGateway, SystemClock, Translator
from service.runtime import Runtime
from service.settings import Settings
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
from service.web.errors import (
    action_error_handler,
    http_error_handler,
    internal_error_handler,
    model_validation_handler,
)
from service.web.input_guard import InputGuard
from service.web.openapi_truth import tell_the_truth
from service.web.request_id import with_request_id

log = logging.getLogger("service.app")


def build_runtime(
    settings: Settings,
    *,
    gateway: SmsGateway | None = None,
    clock: Clock | None = None,
    translator: Translator | None = None,
    protocol: Protocol | None = None,
    redcap: RedcapApi | None = None,
) -> Runtime:
    return Runtime(
        settings=settings,
        protocol=protocol or load_protocol(settings.study_file),
        clock=clock or SystemClock(),
        gateway=gateway or build_gateway(settings),
        translator=translator or load_renderer(),
        non_working=non_working_predicate(),
        redcap=redcap or build_redcap(settings),
    )


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
    register_metrics_source("edc", edc_metrics)
    scheduler = DispatchScheduler(runtime) if run_scheduler else None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await open_database(settings.database_url)
        try:
            await ensure_migrated(may_migrate=settings.is_embedded)
            await sync_sites(runtime)
            await replan_if_protocol_changed(runtime)
            await reconcile_stale_claims(runtime)
            if demo:
                from service.demo import load_demo_data

                await load_demo_data(runtime)
            if scheduler is not None:
                await scheduler.start()
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            await runtime.gateway.aclose()
            if runtime.redcap is not None:
                await runtime.redcap.aclose()
            await close_database()

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
        ],
        lifespan=[lifespan],
        exception_handlers={
            ActionError: action_error_handler,
            HTTPException: http_error_handler,
            ValidationError: model_validation_handler,
            500: internal_error_handler,
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
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="opaque")
                }
            ),
        ),
        cors_config=CORSConfig(allow_origins=[]),
        debug=False,
    )
    app.asgi_handler = with_request_id(app.asgi_handler)
    tell_the_truth(app.openapi_schema)  # the cached document /schema serves
    app.state.runtime = runtime
    app.state.scheduler = scheduler
    return app
