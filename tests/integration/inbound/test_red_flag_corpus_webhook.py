"""The red-flag corpus through the real webhook, on whichever database the suite runs.

Every message of tests/fixtures/red_flag_corpus.toml is posted as Twilio signs it,
from one enrolled participant, 13 hours after the one before (so one message's alert
never makes the next a repeat: that rule has its own tests), and judged by what the
service stored: the alerts its report raised, with their findings, or the
coordinators' queue item and its reason. Figures are printed as the unit corpus test
prints them (``pytest -s``). Nothing may be lost: every message stored with its exact
text, and every one either alerting or in the queue.

All messages are posted first and the database read once at the end: the test
client serves the app on an event loop of its own, and reading between posts would
switch Tortoise's connection between loops hundreds of times.
"""

from __future__ import annotations

from collections import defaultdict

from service.db.models import Alert, Checkin, InboundMessage, InboxItem
from service.domain.inbound_text import from_raw_b64
from service.ports import ManualClock
from tests.support.helpers import Client
from tests.support.inbound_support import captured, enrol, post_sms, settings
from tests.support.red_flag_corpus import Outcome, load_corpus, score

__all__ = ["settings"]  # a fixture, imported for pytest to find

FLAG_OF_FINDING = {
    "red_flag:chest_pain": "chest_pain",
    "red_flag:shortness_of_breath": "shortness_of_breath",
    "red_flag:less_urine": "less_urine",
    "fever": "fever",
    "pregnancy_yes": "pregnancy",
}
NOT_A_RED_FLAG = {"not_understood", "late_answer"}


async def test_the_corpus_through_the_webhook(client: Client, clock: ManualClock) -> None:
    await enrol(client, baseline_infusion_date="2027-01-06")
    corpus = load_corpus()
    sid_of: dict[str, str] = {}
    for message in corpus:
        clock.advance(hours=13)
        form = captured(Body=message.text)
        response = await post_sms(client, form)
        assert response.status_code == 200, response.text
        sid_of[message.id] = form["MessageSid"]

    stored = {m.message_sid: m for m in await InboundMessage.all()}
    items = {i.inbound_id: i for i in await InboxItem.filter(inbound_id__not_isnull=True)}
    checkin_sid = {c.id: c.checkin_key.rsplit(":", 1)[-1] for c in await Checkin.all()}
    alerted: defaultdict[str, set[str]] = defaultdict(set)
    for alert in await Alert.all():
        assert alert.checkin_id is not None
        for finding in alert.findings:
            alerted[checkin_sid[alert.checkin_id]].add(FLAG_OF_FINDING[str(finding["code"])])

    lost: list[str] = []
    outcomes: dict[str, Outcome] = {}
    for message in corpus:
        sid = sid_of[message.id]
        row = stored.get(sid)
        raw = (
            None
            if row is None
            else from_raw_b64(row.body_raw_b64)
            if row.body_raw_b64
            else row.body
        )
        item = items.get(row.id) if row is not None else None
        if raw != message.text or not (alerted.get(sid) or item):
            lost.append(message.id)
        if alerted.get(sid):
            outcomes[message.id] = Outcome("alert", tuple(sorted(alerted[sid])))
        elif item is None or item.reason in NOT_A_RED_FLAG:
            outcomes[message.id] = Outcome("benign")
        else:
            outcomes[message.id] = Outcome("queue", reason=str(item.reason))
    scores = score(corpus, lambda m: outcomes[m.id])
    print("\n" + scores.report())
    assert lost == []
    for figures in (scores.original, scores.whole):
        assert figures.recall >= 0.98
        assert figures.false_alert_rate <= 0.02
