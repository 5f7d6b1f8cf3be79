"""A store kept open between appends (the web application's reads) never writes over, or
beside, what another process recorded in the meantime: it notices and opens the store again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from custodes.errors import StoreError
from custodes.store import LeafPool, audit, ingest, open_store
from custodes.store.ledger import append_actions, record_actions
from custodes.store.store import KeptAppender, appender
from tests.conftest import EVENTS, UNITS, WORKFORCE, BundleFactory

READ = "investigator_read"


@pytest.fixture
def store_home(make_bundle: BundleFactory, home: Path) -> Path:
    ingest(make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS), home)
    return home


def recorded(home: Path) -> list[tuple[int, str]]:
    """Every system event's leaf and its ``view`` field (the reads these tests write)."""
    with open_store(home) as store:
        events = store.catalog.system_events()
    return [(e.leaf_index, (e.encoding or b"").decode()) for e in events if e.kind == READ]


def audit_ok(home: Path) -> bool:
    with open_store(home) as store, LeafPool() as pool:
        return audit(store, pool).ok


def append(kept: KeptAppender, view: str) -> int:
    with kept.open(wait=5) as store:
        (event,) = append_actions(store, [(READ, {"view": view})])
    return event.leaf_index


def test_appends_continue_after_another_process_appended(store_home: Path) -> None:
    kept = KeptAppender(store_home)
    first = append(kept, "one")
    (other,) = record_actions(store_home, [(READ, {"view": "by another process"})])
    second = append(kept, "two")
    assert (first, other.leaf_index, second) == (first, first + 1, first + 2)
    assert [leaf for leaf, _ in recorded(store_home)] == [first, first + 1, first + 2]
    assert audit_ok(store_home)
    kept.close()


def test_two_kept_appenders_taking_turns_keep_their_stores_and_every_leaf(
    store_home: Path,
) -> None:
    """Two server processes each keep a store open and take turns: each notices the other's
    leaves, opens only its tree again (its catalog connection stays), and nothing is lost."""
    one, two = KeptAppender(store_home), KeptAppender(store_home)
    leaves = []
    for turn in range(10):
        leaves += [append(one, f"one {turn}"), append(two, f"two {turn}")]
    with one.open() as store:
        catalog = store.catalog
    leaves.append(append(two, "two, last"))
    leaves.append(append(one, "one, last"))
    with one.open() as store:
        assert store.catalog is catalog  # the same store, not opened again
    assert leaves == list(range(leaves[0], leaves[0] + 22))
    assert [leaf for leaf, _ in recorded(store_home)] == leaves
    assert audit_ok(store_home)
    one.close()
    two.close()


def test_leaves_a_crashed_writer_left_uncommitted_are_cut_before_appending(
    store_home: Path,
) -> None:
    kept = KeptAppender(store_home)
    first = append(kept, "one")
    with appender(store_home) as store:  # a writer appends leaves, then dies before committing
        store.tree.append([bytes(32)] * 3)
        store.tree.sync()
    second = append(kept, "two")
    assert second == first + 1
    with open_store(store_home) as store:
        assert store.catalog.ledger_size() == second + 1
    assert audit_ok(store_home)
    kept.close()


def test_a_store_replaced_under_it_is_opened_again(
    store_home: Path, make_bundle: BundleFactory, tmp_path: Path
) -> None:
    kept = KeptAppender(store_home)
    append(kept, "in the old store")
    fresh = tmp_path / "fresh"
    ingest(make_bundle(units=UNITS, workforce=WORKFORCE, access_events=EVENTS), fresh)
    shutil.rmtree(store_home)
    shutil.copytree(fresh, store_home)
    leaf = append(kept, "in the new store")
    ((found, view),) = recorded(store_home)
    assert found == leaf and "in the new store" in view
    assert audit_ok(store_home)
    kept.close()


def test_an_error_inside_closes_the_store_and_the_next_append_recovers(store_home: Path) -> None:
    kept = KeptAppender(store_home)
    first = append(kept, "one")
    with pytest.raises(RuntimeError), kept.open() as store:
        store.tree.append([bytes(32)])  # written, never committed
        raise RuntimeError("the request failed half way")
    assert append(kept, "two") == first + 1
    assert audit_ok(store_home)
    kept.close()


def test_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="no Custodes store here"):
        append(KeptAppender(tmp_path / "empty"), "nothing")
