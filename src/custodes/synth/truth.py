"""The ground truth written beside the bundle, for judging linkage, explanation and detection.

Ingest and detection never read ``truth/``. It says which events are misuse (and whether the
misuser lied about why), which legitimate events are deliberately hard to explain (noise), which
legitimate events a naive rule would flag (hard negatives), who each employee's and relative's
police record really is (links), when everyone was rostered (shifts), and a manifest of the run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from custodes.synth.base import I64, Window, iso_timestamps
from custodes.synth.events import NOISE_KINDS, EventBatch, Label
from custodes.synth.linkage import Linkage
from custodes.synth.organisation import KIND, Units, Workforce
from custodes.synth.population import VIP, Subjects
from custodes.synth.roster import Roster, shifts_for_day
from custodes.synth.scenarios import SCENARIOS, Instance
from custodes.synth.writer import TableSink, write_table

MISUSE_COLUMNS = ("event_id", "scenario", "instance_id", "person_id", "subject_id", "lied")
KIND_COLUMNS = ("event_id", "kind")
SHIFT_COLUMNS = ("person_id", "start", "end", "kind")
SCENARIO_COLUMNS = ("instance_id", "scenario", "person_id", "subject_id", "events", "note")
LINK_COLUMNS = ("subject_id", "person_id", "relation", "declared", "variants")
HARD_NEGATIVE_KINDS = (
    "same_surname",
    "same_postcode",
    "psd_colleague",
    "employee_record",
    "vip_subject",
)


@dataclass(eq=False)
class HardNegatives:
    """Finds explained events that a naive rule would flag, from per-person/subject attributes."""

    person_surname: I64
    subject_surname: I64
    person_postcode: I64
    subject_postcode: I64
    person_in_psd: np.ndarray
    record_owner: I64  # the employee whose own record a subject is, -1 for others
    subject_vip: np.ndarray

    @classmethod
    def build(
        cls, units: Units, wf: Workforce, subjects: Subjects, linkage: Linkage
    ) -> HardNegatives:
        names = pa.array([*wf.surname, *subjects.surname], pa.string()).dictionary_encode()
        code = np.asarray(names.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        owner = np.full(len(subjects), -1, dtype=np.int64)
        has = np.flatnonzero(linkage.self_subject >= 0)
        owner[linkage.self_subject[has]] = has
        return cls(
            person_surname=code[: len(wf)],
            subject_surname=code[len(wf) :],
            person_postcode=wf.home_postcode,
            subject_postcode=subjects.postcode,
            person_in_psd=units.kind[wf.unit] == KIND["psd"],
            record_owner=owner,
            subject_vip=(subjects.flags & VIP) > 0,
        )

    def find(self, batch: EventBatch) -> list[tuple[I64, str]]:
        """(rows of ``batch``, kind) for each kind of hard negative."""
        explained = (batch.label <= Label.UNIT) & (batch.subject >= 0)
        rows = np.flatnonzero(explained)
        person, subject = batch.person[rows], batch.subject[rows]
        owner = self.record_owner[subject]
        employee = (owner >= 0) & (owner != person)
        psd = self.person_in_psd[person]
        postcode = self.subject_postcode[subject]
        tests = {
            "same_surname": self.person_surname[person] == self.subject_surname[subject],
            "same_postcode": (postcode >= 0) & (postcode == self.person_postcode[person]),
            "psd_colleague": psd & employee,
            "employee_record": ~psd & employee,
            "vip_subject": self.subject_vip[subject],
        }
        return [(rows[hit], kind) for kind, hit in tests.items() if hit.any()]


class TruthWriter:
    """Streams the per-event truth files day by day, and writes the rest at the end."""

    def __init__(self, folder: Path, window: Window, hard_negatives: HardNegatives) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.window, self.hard_negatives = folder, window, hard_negatives
        self.misuse = TableSink(folder / "misuse_events.csv", MISUSE_COLUMNS, "csv")
        self.noise = TableSink(folder / "noise_events.csv", KIND_COLUMNS, "csv")
        self.hard = TableSink(folder / "hard_negatives.csv", KIND_COLUMNS, "csv")
        self.shifts = TableSink(folder / "shifts.csv", SHIFT_COLUMNS, "csv")
        self.misuse_by_scenario: Counter[str] = Counter()
        self.noise_by_kind: Counter[str] = Counter()
        self.hard_by_kind: Counter[str] = Counter()
        self.hard_negative_events = 0
        self.explained: Counter[str] = Counter({"assignment": 0, "unit": 0})

    def day(
        self, batch: EventBatch, columns: dict[str, pa.Array], instances: list[Instance]
    ) -> None:
        event_ids = columns["event_id"]
        self.explained["assignment"] += int((batch.label == Label.ASSIGNED).sum())
        self.explained["unit"] += int((batch.label == Label.UNIT).sum())
        misuse = np.flatnonzero(batch.label == Label.MISUSE)
        if len(misuse):
            scenario = [instances[i].scenario for i in batch.instance[misuse].tolist()]
            self.misuse_by_scenario.update(scenario)
            self.misuse.write(
                {
                    "event_id": event_ids.take(pa.array(misuse)),
                    "scenario": pa.array(scenario, pa.string()),
                    "instance_id": pa.array(
                        [instances[i].id for i in batch.instance[misuse].tolist()]
                    ),
                    "person_id": columns["person_id"].take(pa.array(misuse)),
                    "subject_id": columns["subject_id"].take(pa.array(misuse)),
                    "lied": pa.array(np.where(batch.lied[misuse] > 0, "true", "false")),
                }
            )
        noise = np.flatnonzero((batch.label >= Label.NOISE) & (batch.label < Label.MISUSE))
        if len(noise):
            kinds = [NOISE_KINDS[k] for k in batch.label[noise].tolist()]
            self.noise_by_kind.update(kinds)
            self.noise.write(
                {"event_id": event_ids.take(pa.array(noise)), "kind": pa.array(kinds, pa.string())}
            )
        found = self.hard_negatives.find(batch)
        if found:
            self.hard_negative_events += len(np.unique(np.concatenate([rows for rows, _ in found])))
        for rows, kind in found:
            self.hard_by_kind[kind] += len(rows)
            self.hard.write(
                {
                    "event_id": event_ids.take(pa.array(rows)),
                    "kind": pa.array([kind] * len(rows), pa.string()),
                }
            )

    def roster_day(self, roster: Roster, day: int, person_ids: pa.Array) -> None:
        persons, start, end, overtime = shifts_for_day(roster, day)
        if len(persons):
            self.shifts.write(
                {
                    "person_id": person_ids.take(pa.array(persons)),
                    "start": iso_timestamps(self.window, start),
                    "end": iso_timestamps(self.window, end),
                    "kind": pa.array(np.where(overtime, "overtime", "rostered")),
                }
            )

    def finish(
        self,
        instances: list[Instance],
        events_per_instance: I64,
        person_ids: pa.Array,
        subject_ids: pa.Array,
        linkage: Linkage,
        manifest: dict[str, object],
    ) -> None:
        for sink in (self.misuse, self.noise, self.hard, self.shifts):
            sink.close()
        write_table(
            self.folder / "scenarios.csv",
            SCENARIO_COLUMNS,
            {
                "instance_id": pa.array([i.id for i in instances], pa.string()),
                "scenario": pa.array([i.scenario for i in instances], pa.string()),
                "person_id": person_ids.take(pa.array([i.person for i in instances], pa.int64())),
                "subject_id": subject_ids.take(
                    pa.array(
                        [i.subject for i in instances],
                        pa.int64(),
                        mask=[i.subject < 0 for i in instances],
                    )
                ),
                "events": pa.array([str(n) for n in events_per_instance.tolist()], pa.string()),
                "note": pa.array([i.note for i in instances], pa.string()),
            },
            "csv",
        )
        links = linkage.links
        write_table(
            self.folder / "links.csv",
            LINK_COLUMNS,
            {
                "subject_id": subject_ids.take(pa.array([k.subject for k in links], pa.int64())),
                "person_id": person_ids.take(pa.array([k.person for k in links], pa.int64())),
                "relation": pa.array([k.relation for k in links], pa.string()),
                "declared": pa.array(
                    ["true" if k.declared else "false" for k in links], pa.string()
                ),
                "variants": pa.array([k.variants or None for k in links], pa.string()),
            },
            "csv",
        )
        text = json.dumps(manifest, indent=2, ensure_ascii=False)
        (self.folder / "manifest.json").write_text(text + "\n", encoding="utf-8")

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "misuse_events": {s: self.misuse_by_scenario[s] for s in SCENARIOS},
            "noise_events": {k: self.noise_by_kind[k] for k in NOISE_KINDS.values()},
            "hard_negatives": {k: self.hard_by_kind[k] for k in HARD_NEGATIVE_KINDS},
            "explained_events": dict(self.explained),
        }
