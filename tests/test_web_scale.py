"""What keeps the pages fast with a million alerts, and must not change what they show: the queue
counts up to a limit and then says "more than"; each server thread keeps its store open, yet
sees every ingest; the cases offered for a merge are the open ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from custodes.cases import alerts
from custodes.cases.casefile import list_cases
from custodes.cases.models import Alert, Case
from custodes.cases.users import get_user
from custodes.store import erase_event, ingest
from tests.conftest import EVENTS, BundleFactory
from tests.web_fixtures import Site, build_site


@pytest.fixture
def site(detected_force: Path, tmp_path: Path) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path)
    try:
        yield built
    finally:
        built.close()


def test_a_long_queue_is_counted_up_to_the_limit_then_more_is_said(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "COUNT_LIMIT", 5)
    rita = get_user(site.db, "rita")
    first = alerts.list_alerts(site.db, rita, per_page=3)
    assert (first.total, first.total_exact, len(first.items)) == (5, False, 3)
    deep = alerts.list_alerts(site.db, rita, page=4, per_page=3)  # counted to the page's end
    assert (deep.total, deep.total_exact, len(deep.items)) == (12, False, 3)
    whole = alerts.list_alerts(site.db, rita, per_page=50)
    assert (whole.total, whole.total_exact) == (18, True)

    ann = site.api("ann")
    answer = ann.get("/api/alerts?per_page=3").json()
    assert (answer["total"], answer["total_exact"], len(answer["items"])) == (5, False, 3)
    page = ann.get("/alerts?per_page=3").text
    assert "More than 5 alerts, page 1." in page
    assert ">Next</a>" in page
    assert "More than" not in ann.get("/alerts").text


def test_a_thread_keeps_its_store_and_sees_every_ingest_and_erasure(
    site: Site, make_bundle: BundleFactory
) -> None:
    kept = site.app.state.custodes
    count = "SELECT count(*) FROM access_events"
    with kept.store() as store:
        before = store.query(count)[0][0]
    with kept.store() as again:
        assert again is store, "the thread's store is kept between requests"
    ingest(make_bundle(access_events=EVENTS), site.home)
    with kept.store() as later:
        assert later.query(count)[0][0] == before + 3
        assert later.query(f"{count} WHERE event_id = 'E3'") == [(1,)]
    erase_event(site.home, "E3", "a court order", "dora")
    with kept.store() as after_erasure:
        assert after_erasure.query(count)[0][0] == before + 2
        assert after_erasure.query(f"{count} WHERE event_id = 'E3'") == [(0,)]


def test_the_cases_offered_for_a_merge_are_the_open_ones(site: Site) -> None:
    ann = get_user(site.db, "ann")
    with site.db.session() as session:
        first, second = session.scalars(
            select(Alert.alert_id).where(Alert.state == "new").order_by(Alert.alert_id).limit(2)
        )
    kept = alerts.escalate(site.db, ann, [first], "still open")
    closed = alerts.escalate(site.db, ann, [second], "signed off long ago")
    with site.db.session() as session:  # as a sign-off leaves it, without the steps before
        session.execute(update(Case).where(Case.id == closed.case_id).values(status="closed"))
    assert [c.id for c in list_cases(site.db, ann).items] == [closed.case_id, kept.case_id]
    assert [c.id for c in list_cases(site.db, ann, open_only=True).items] == [kept.case_id]
    page = site.api("ann").get("/alerts").text
    assert "still open" in page and "signed off long ago" not in page
