"""The reference tables of the bundle, as text columns ready to write.

The force exports a snapshot at the end of the window, so nothing after that moment is known: an
operation still open has no ``closed`` date, an assignment still running has no ``end``, and a
leaving date is only given once it has passed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from custodes.bundle.contract import (
    OPERATION_KINDS,
    SUBJECT_FLAGS,
    SUBJECT_ROLES,
    UNIT_KINDS,
    WORKFORCE_ROLES,
)
from custodes.synth.base import I64, SECONDS_PER_DAY, Window, iso_dates, iso_timestamps
from custodes.synth.linkage import Linkage
from custodes.synth.operations import Operations
from custodes.synth.organisation import Units, Workforce
from custodes.synth.population import NO_DAY, Geography, Subjects
from custodes.synth.workplan import ASSIGNMENT_ROLES

Columns = dict[str, pa.Array]


def _codes(table: tuple[str, ...], index: I64) -> pa.Array:
    return pa.array(np.array(table, dtype=object)[index].tolist(), pa.string())


def _postcodes(geography: Geography, index: I64) -> pa.Array:
    table = np.array([*geography.postcode, ""], dtype=object)
    return pa.array(table[index].tolist(), pa.string(), mask=index < 0)


def _addresses(geography: Geography, postcode: I64, number: I64) -> pa.Array:
    text = [
        geography.address(p, n) if p >= 0 else None
        for p, n in zip(postcode.tolist(), number.tolist(), strict=True)
    ]
    return pa.array(text, pa.string())


def units_table(units: Units) -> Columns:
    return {
        "unit_id": pa.array(units.ids),
        "name": pa.array(units.names),
        "kind": _codes(UNIT_KINDS, units.kind),
    }


def workforce_table(window: Window, units: Units, wf: Workforce, geography: Geography) -> Columns:
    unit_ids = np.array(units.ids, dtype=object)[wf.unit]
    # A leaving date is known once it has passed.
    left_known = wf.left < window.days
    return {
        "person_id": pa.array(wf.ids),
        "role": _codes(WORKFORCE_ROLES, wf.role),
        "surname": pa.array(wf.surname),
        "forenames": pa.array(wf.forenames),
        "date_of_birth": iso_dates(window, wf.dob, wf.dob == NO_DAY),
        "home_postcode": _postcodes(geography, wf.home_postcode),
        "home_address": _addresses(geography, wf.home_postcode, wf.home_number),
        "unit_id": pa.array(unit_ids.tolist(), pa.string(), mask=~wf.unit_recorded),
        "joined": iso_dates(window, wf.joined),
        "left": iso_dates(window, np.where(left_known, wf.left, 0), ~left_known),
    }


def relations_table(
    window: Window, wf: Workforce, linkage: Linkage, geography: Geography
) -> Columns:
    rows = linkage.relations
    dob = np.array([r.dob for r in rows], dtype=np.int64)
    postcode = np.array([r.postcode for r in rows], dtype=np.int64)
    return {
        "person_id": pa.array([wf.ids[r.person] for r in rows], pa.string()),
        "relation": pa.array([r.relation for r in rows], pa.string()),
        "surname": pa.array([r.surname for r in rows], pa.string()),
        "forenames": pa.array([r.forenames for r in rows], pa.string()),
        "date_of_birth": iso_dates(window, dob, dob == NO_DAY),
        "postcode": _postcodes(geography, postcode),
    }


def subjects_table(
    window: Window, subjects: Subjects, ids: pa.Array, geography: Geography
) -> Columns:
    flags = [
        ";".join(flag for bit, flag in enumerate(SUBJECT_FLAGS) if value >> bit & 1) or None
        for value in subjects.flags.tolist()
    ]
    return {
        "subject_id": ids,
        "surname": pa.array(subjects.surname, pa.string()),
        "forenames": pa.array(subjects.forenames, pa.string()),
        "date_of_birth": iso_dates(window, subjects.dob, subjects.dob == NO_DAY),
        "postcode": _postcodes(geography, subjects.postcode),
        "address": _addresses(geography, subjects.postcode, subjects.number),
        "flags": pa.array(flags, pa.string()),
    }


def operations_table(window: Window, ops: Operations, ids: pa.Array, units: Units) -> Columns:
    closed_known = ops.closed < window.end_seconds
    return {
        "operation_id": ids,
        "kind": _codes(OPERATION_KINDS, ops.kind),
        "opened": iso_dates(window, ops.opened // SECONDS_PER_DAY),
        "closed": iso_dates(
            window, np.where(closed_known, ops.closed, 0) // SECONDS_PER_DAY, ~closed_known
        ),
        "unit_id": _codes(tuple(units.ids), ops.unit),
    }


def operation_subjects_table(ops: Operations, op_ids: pa.Array, subject_ids: pa.Array) -> Columns:
    op = np.repeat(np.arange(len(ops), dtype=np.int64), np.diff(ops.subject_ptr))
    return {
        "operation_id": op_ids.take(pa.array(op)),
        "subject_id": subject_ids.take(pa.array(ops.subject)),
        "role": _codes(SUBJECT_ROLES, ops.role),
    }


def assignments_table(
    window: Window, ops: Operations, op_ids: pa.Array, person_ids: pa.Array
) -> Columns:
    rows = np.flatnonzero(ops.item_written)
    rows = rows[np.lexsort((ops.item_person[rows], ops.item_start[rows]))]
    end = ops.item_end[rows]
    end_known = end <= window.end_seconds
    return {
        "operation_id": op_ids.take(pa.array(ops.item_op[rows])),
        "person_id": person_ids.take(pa.array(ops.item_person[rows])),
        "start": iso_timestamps(window, ops.item_start[rows]),
        "end": iso_timestamps(window, np.where(end_known, end, 0), ~end_known),
        "role": _codes(ASSIGNMENT_ROLES, ops.item_role[rows]),
    }
