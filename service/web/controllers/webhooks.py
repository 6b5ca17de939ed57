"""Twilio's webhooks: delivery receipts (and, in the same controller, inbound SMS: the
inbox's receiving edge, which stores, answers, and leaves understanding to run after).

Every route starts with :func:`verified_twilio_form`, which refuses (403) anything
Twilio did not sign for our ``PUBLIC_BASE_URL``, and reads the form into a neutral
value (``web.twilio_forms``). Handlers stay thin: one action call.
Twilio retries a webhook it thinks failed, so the actions are idempotent and a
callback for a message we do not know is still answered with success.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.background_tasks import BackgroundTask
from twilio.twiml.messaging_response import MessagingResponse

from service.actions.inbound import store_inbound, understand_after_receipt
from service.actions.outbox import apply_status_callback
from service.runtime import Runtime
from service.web.twilio_forms import delivery_report, inbound_sms
from service.web.twilio_signature import verified_twilio_form

# The answer to every inbound message: replies go out as tracked outbound messages.
# Built once: the SDK's XML serialisation was 7% of the webhook's time in a burst.
EMPTY_TWIML = str(MessagingResponse())


class TwilioWebhookController(Controller):
    path = "/webhooks/twilio"
    tags = ["webhooks"]

    # ---- delivery receipts ----------------------------------------------------------

    @post(
        "/status",
        status_code=204,
        summary="Message status callback (signed by Twilio)",
        description="Form-encoded, as Twilio posts it. 403 unless X-Twilio-Signature "
        "matches PUBLIC_BASE_URL + path; 204 otherwise, also for unknown messages.",
    )
    async def status(self, request: Request, rt: Runtime) -> None:
        form = await verified_twilio_form(request, rt)
        await apply_status_callback(rt, delivery_report(form))

    # ---- inbound SMS ----------------------------------------------------------------

    @post(
        "/sms",
        status_code=200,
        summary="Incoming SMS (signed by Twilio)",
        description="Form-encoded, as Twilio posts it. Stored once per MessageSid and "
        "committed before the answer; understood right after, in order per number. Replies "
        "go out as tracked outbound messages, so the TwiML answer is an empty <Response/>.",
        media_type="application/xml",
    )
    async def sms(self, request: Request, rt: Runtime) -> Response[str]:
        with rt.inbox.answering():
            form = await verified_twilio_form(request, rt)
            stored = await store_inbound(rt, inbound_sms(form))
        # Understood after the answer has gone (a retry's too: its first try may have
        # died before understanding); whatever fails there waits for the sweep.
        return Response(
            EMPTY_TWIML,
            media_type="application/xml",
            background=BackgroundTask(understand_after_receipt, rt, stored.from_phone),
        )
