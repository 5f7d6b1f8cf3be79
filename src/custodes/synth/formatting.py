"""Turning a day's events from numbers into the text columns of ``access_events``.

Every text value an event can hold is made once, in a table (people, subjects, records,
purposes, recipients, terminals, the pieces of a search query); a day's events are then
formatted with ``take`` on those tables, and identifiers and timestamps are built from byte
matrices. No Python object is made per event, which is what lets tens of millions of events a
run be written in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodes.bundle.contract import ACTIONS
from custodes.synth.base import (
    I64,
    SECONDS_PER_DAY,
    Window,
    fixed_width_strings,
    iso_dates,
    prefixed_numbers,
    write_digits,
)
from custodes.synth.events import Q_DOB, Q_FORENAMES, Q_INITIAL, Q_SURNAME, SYSTEMS, EventBatch
from custodes.synth.operations import Operations
from custodes.synth.population import NO_DAY, Subjects
from custodes.synth.workplan import OP

EVENT_ID_WIDTH = 11  # E00000000123


def _take(table: pa.Array, index: I64) -> pa.Array:
    return pc.take(table, pa.array(index, mask=index < 0))


def _joined(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def record_references(
    rng: np.random.Generator, window: Window, subjects: Subjects, ops: Operations
) -> pa.Array:
    """PNC IDs (``98/0123456K``), PND and local nominal references, then each case's reference."""
    n = len(subjects)
    matrix = np.empty((n, 11), dtype=np.uint8)
    write_digits(matrix, 0, 2, rng.integers(0, 100, n))
    matrix[:, 2] = ord("/")
    write_digits(matrix, 3, 7, (rng.permutation(n).astype(np.int64) + 1_000_000) % 10**7)
    matrix[:, 10] = rng.integers(ord("A"), ord("Z") + 1, n)
    pnc = fixed_width_strings(matrix)
    pnd = prefixed_numbers("PND-", rng.permutation(n) + 100_000_000, 9)
    nominal = prefixed_numbers("NOM-", rng.permutation(n) + 10_000_000, 8)
    days = ops.opened // SECONDS_PER_DAY + window.epoch_day
    year = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    case_prefix = {
        OP["incident"]: "CAD",
        OP["crime"]: "CRIME",
        OP["intelligence"]: "INTEL",
        OP["custody"]: "CUSTODY",
        OP["warrant"]: "WARRANT",
        OP["task"]: "TASK",
        OP["court"]: "FILE",
        OP["other"]: "PSD",
    }
    cases = [
        f"{case_prefix[k]}/{y}/{number:06d}"
        for k, y, number in zip(ops.kind.tolist(), year.tolist(), ops.number.tolist(), strict=True)
    ]
    return pa.concat_arrays([pnc, pnd, nominal, pa.array(cases, pa.string())])


@dataclass(eq=False)
class Lookups:
    """The text tables that event columns index into."""

    person_ids: pa.Array
    subject_ids: pa.Array
    records: pa.Array
    purposes: pa.Array
    operation_ids: pa.Array
    recipients: pa.Array
    terminals: pa.Array
    query_surname: pa.Array
    query_forenames: pa.Array
    query_initial: pa.Array
    query_dob: pa.Array

    @classmethod
    def build(
        cls,
        window: Window,
        subjects: Subjects,
        subject_ids: pa.Array,
        **tables: pa.Array,
    ) -> Lookups:
        surname = pc.utf8_upper(pa.array(subjects.surname, pa.string()))
        forenames = pc.utf8_upper(pa.array(subjects.forenames, pa.string()))
        dob = iso_dates(window, subjects.dob, subjects.dob == NO_DAY)
        return cls(
            subject_ids=subject_ids,
            query_surname=_joined("surname=", surname),
            query_forenames=_joined("forenames=", forenames),
            query_initial=_joined("forenames=", pc.utf8_slice_codeunits(forenames, 0, 1)),
            query_dob=_joined("dob=", dob),
            **tables,
        )


def format_events(
    batch: EventBatch, first_number: int, window: Window, day: int, lookups: Lookups
) -> dict[str, pa.Array]:
    """The ``access_events`` columns of a day's events, numbered from ``first_number``."""
    n = len(batch)
    ids = prefixed_numbers("E", np.arange(first_number, first_number + n), EVENT_ID_WIDTH)
    query_subject = batch.query_subject
    fields = batch.query_fields

    def part(table: pa.Array, bit: int) -> pa.Array:
        return _take(table, np.where(fields & bit > 0, query_subject, -1))

    forenames = pc.coalesce(
        part(lookups.query_forenames, Q_FORENAMES), part(lookups.query_initial, Q_INITIAL)
    )
    # Each optional piece carries its own separator. (binary_join_element_wise with
    # null_handling="skip" drops rows where every piece is null in pyarrow 23.)
    query = _joined(
        pc.fill_null(part(lookups.query_surname, Q_SURNAME), ""),
        pc.fill_null(_joined(";", forenames), ""),
        pc.fill_null(_joined(";", part(lookups.query_dob, Q_DOB)), ""),
    )
    no_query = pa.array(fields == 0)
    return {
        "event_id": ids,
        "ts": timestamps(window, day, batch.t - day * SECONDS_PER_DAY),
        "person_id": _take(lookups.person_ids, batch.person),
        "action": _take(pa.array(ACTIONS), batch.action),
        "system": _take(pa.array(SYSTEMS), batch.system),
        "subject_id": _take(lookups.subject_ids, batch.subject),
        "record_ref": _take(lookups.records, batch.record),
        "query": pc.if_else(no_query, pa.scalar(None, pa.string()), query),
        "purpose": _take(lookups.purposes, batch.purpose),
        "operation_ref": _take(lookups.operation_ids, batch.operation),
        "recipient": _take(lookups.recipients, batch.recipient),
        "terminal": _take(lookups.terminals, batch.terminal),
    }


def timestamps(window: Window, day: int, seconds: I64) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` for seconds within ``day``, written straight into bytes."""
    matrix = np.empty((len(seconds), 20), dtype=np.uint8)
    matrix[:, :11] = np.frombuffer(f"{window.date(day).isoformat()}T".encode(), dtype=np.uint8)
    write_digits(matrix, 11, 2, seconds // 3600)
    matrix[:, 13] = ord(":")
    write_digits(matrix, 14, 2, (seconds // 60) % 60)
    matrix[:, 16] = ord(":")
    write_digits(matrix, 17, 2, seconds % 60)
    matrix[:, 19] = ord("Z")
    return fixed_width_strings(matrix)
