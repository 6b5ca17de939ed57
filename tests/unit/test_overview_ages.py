"""The overview says how long an alert or inbox item has waited as the alerts board
and the inbox do: never older than it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain.alert_board import age_words
from service.web.dashboard.overview_view import Ages

NOW = datetime(2026, 12, 8, 1, 47, tzinfo=UTC)


def test_an_item_open_almost_five_days_reads_four_on_the_overview_and_the_board() -> None:
    since = NOW - timedelta(days=4, hours=23)
    assert Ages(NOW, "es")(since) == age_words(since, NOW, "es") == "4 días"
    assert Ages(NOW, "en")(NOW - timedelta(minutes=50)) == "50 minutes"


def test_nothing_open_reads_a_dash() -> None:
    assert Ages(NOW, "es")(None) == "—"
