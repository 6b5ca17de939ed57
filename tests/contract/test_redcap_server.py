"""The REDCap double refuses what REDCap refuses, the whole batch at once, over HTTP,
and the service's adapter turns its answers into the right error kinds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.adapters.redcap_http import RedcapHttpApi
from service.ports import RedcapError
from tests.support.edc_push_fixtures import setup_files
from tests.support.fakes.redcap_server import (
    TEST_TOKEN,
    RedcapFakeServer,
    RedcapSetupRefused,
    redcap_event_names,
)

PRO = "reportes_del_parti_arm_1"
GOOD = {
    "record_id": "MSC-001",
    "redcap_event_name": PRO,
    "redcap_repeat_instrument": "sintomas",
    "redcap_repeat_instance": "1",
    "ce_fever_sev": "2",
    "ce_received_utc": "2027-01-13 15:00",
}


@pytest.fixture(scope="module")
def server() -> Iterator[RedcapFakeServer]:
    from service.settings import load_settings

    settings = load_settings({"DATABASE_URL": "sqlite://:memory:", "SECRET_KEY": "k" * 40})
    with RedcapFakeServer(setup_files(settings)) as fake:
        yield fake


def test_event_names_like_redcap() -> None:
    assert redcap_event_names([("Visit 1", "1"), ("Visit 1", "1")]) == [
        "visit_1_arm_1",
        "visit_1_arm_1b",
    ]


async def test_good_row_is_upserted_on_its_keys(server: RedcapFakeServer) -> None:
    api = RedcapHttpApi(server.url, TEST_TOKEN)
    assert await api.import_records([GOOD]) == ["MSC-001"]
    assert await api.import_records([{**GOOD, "ce_fever_sev": "3", "ce_received_utc": ""}])
    [row] = await api.export_records(["MSC-001"], ["ce_fever_sev", "ce_received_utc"], [PRO])
    assert (row["ce_fever_sev"], row["ce_received_utc"]) == ("3", "2027-01-13 15:00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nonexistent_field": "1"}, "does not exist"),
        ({"sv_status": "1"}, "not designated to the event"),
        ({"redcap_repeat_instance": ""}, "redcap_repeat_instance"),
        ({"ce_fever_sev": "5"}, "not a valid category"),
        ({"ce_received_utc": "13/01/2027"}, "not a valid datetime"),
        ({"redcap_event_name": "month_6_arm_1"}, "event name is not valid"),
        ({"redcap_data_access_group": "nowhere"}, "Data Access Group"),
    ],
)
async def test_refusals_name_the_row_and_refuse_the_whole_batch(
    server: RedcapFakeServer, change: dict[str, str], message: str
) -> None:
    api = RedcapHttpApi(server.url, TEST_TOKEN)
    other = {**GOOD, "record_id": "MSC-099"}
    with pytest.raises(RedcapError) as caught:
        await api.import_records([other, {**GOOD, **change}])
    assert caught.value.kind == "refused" and caught.value.http_status == 400
    assert message in str(caught.value) and "MSC-001" in str(caught.value)
    assert not any(slot[0] == "MSC-099" for slot in server.slots())


async def test_bad_token_is_forbidden_and_faults_are_unavailable(server: RedcapFakeServer) -> None:
    with pytest.raises(RedcapError) as caught:
        await RedcapHttpApi(server.url, "wrong").export_metadata()
    assert caught.value.kind == "forbidden"
    assert "wrong" not in str(caught.value)
    server.fail_next(1, status=502)
    with pytest.raises(RedcapError) as caught:
        await RedcapHttpApi(server.url, TEST_TOKEN).export_events()
    assert caught.value.kind == "unavailable"
    with pytest.raises(RedcapError) as caught:
        await RedcapHttpApi("http://127.0.0.1:9/api/", TEST_TOKEN, timeout_s=2).export_events()
    assert caught.value.kind == "unavailable"


def test_the_double_refuses_event_names_longer_than_redcap_takes() -> None:
    from service.settings import load_settings

    settings = load_settings({"DATABASE_URL": "sqlite://:memory:", "SECRET_KEY": "k" * 40})
    files = dict(setup_files(settings))
    long_name = "W1 Control a la semana de la infusión 1"  # 39 characters
    files["events.csv"] = files["events.csv"].replace("M1 Control mes 1", long_name, 1)
    with pytest.raises(RedcapSetupRefused, match="longer than 30"):
        RedcapFakeServer(files)


def test_the_generated_set_up_files_build_a_project_with_stable_event_names(
    server: RedcapFakeServer,
) -> None:
    events = server.project.events
    assert all(len(e["event_name"]) <= 30 for e in events)
    names = {e["unique_event_name"] for e in events}
    # the names a project built from the earlier, longer labels has: unchanged
    assert {"w1_control_a_la_se_arm_1", "w7_control_a_la_se_arm_1",
            "eos_visita_de_cier_arm_1", PRO} <= names  # fmt: skip
