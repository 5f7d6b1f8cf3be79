"""Group commit of investigators' reads: concurrent requests share ledger appends, yet each read
is its own leaf, written as ``record_read`` writes it, before the request goes on."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from custodes.cases.audit import READ_KIND, read_fields, record_read
from custodes.cases.models import User
from custodes.errors import CustodesError
from custodes.store import ledger as store_ledger
from custodes.store.store import appender, open_store
from custodes.web import read_ledger as module
from custodes.web.read_ledger import ReadLedger, read_ledger

ANN = User(id=1, name="ann", role="investigator", password_hash="-")


def reads_since(home: Path, size: int) -> dict[int, dict[str, Any]]:
    with open_store(home) as store:
        events = store.catalog.system_events(size)
    return {e.leaf_index: json.loads(e.encoding or b"{}") for e in events if e.kind == READ_KIND}


def ledger_size(home: Path) -> int:
    with open_store(home) as store:
        return store.catalog.ledger_size()


def test_a_grouped_read_is_written_as_record_read_writes_it(detected_home: Path) -> None:
    shown = {"case": "PSD-2026-00001", "people": ["P2", "P1", "P1"], "items": ["E9", ""]}
    before = ledger_size(detected_home)
    alone = record_read(detected_home, ANN, " case ", **shown)
    grouped = read_ledger(detected_home).record(read_fields(ANN, " case ", **shown))
    reads = reads_since(detected_home, before)
    assert sorted(reads) == [alone, grouped]
    for fields in reads.values():
        del fields["recorded_at"]
    assert reads[alone] == reads[grouped]
    assert reads[grouped]["people"] == '["P1", "P2"]'


def test_concurrent_reads_share_appends_and_each_gets_its_own_leaf(
    detected_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    appends: list[int] = []

    def counted(store: Any, actions: Any) -> Any:
        appends.append(len(actions))
        return store_ledger.append_actions(store, actions)

    monkeypatch.setattr(module, "append_actions", counted)
    ledger = ReadLedger(detected_home)
    before = ledger_size(detected_home)
    with ThreadPoolExecutor(30) as pool:
        with appender(detected_home):
            # The store's writer is busy: the first read waits for it, the rest queue behind.
            futures = [pool.submit(ledger.record, read_fields(ANN, f"view {i}")) for i in range(30)]
            time.sleep(0.5)
            assert not any(f.done() for f in futures)
        leaves = [f.result(timeout=60) for f in futures]
    reads = reads_since(detected_home, before)
    assert len(set(leaves)) == 30 and sorted(leaves) == sorted(reads)
    assert all(reads[leaf]["view"] == f"view {i}" for i, leaf in enumerate(leaves))
    assert sum(appends) == 30 and len(appends) <= 3, appends


def test_a_failed_append_fails_every_read_in_it_and_does_not_stick(
    detected_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "not-yet-a-store"
    home.mkdir()
    ledger = ReadLedger(home)

    def record(i: int) -> int:
        return ledger.record(read_fields(ANN, f"view {i}"))

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(record, i) for i in range(8)]
        errors = [f.exception(timeout=60) for f in futures]
    assert all(isinstance(e, CustodesError) for e in errors), errors
    assert len({id(e) for e in errors}) == 8, "each request raises its own copy"
    shutil.rmtree(home)
    shutil.copytree(detected_home, home)
    before = ledger_size(home)
    assert record(8) == before
    assert list(reads_since(home, before)) == [before]
