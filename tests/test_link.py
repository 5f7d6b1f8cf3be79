"""Record linkage, by example: who in the police records is an employee, a relative, a neighbour.

The model is trained on the data it links, so the hand-made people below are added to a small
synthetic force (which gives Splink a population to learn from); they use surnames and a
postcode district (QQ1) the generator never makes, so nothing else can be mistaken for them. The
same run is then judged against the force's truth.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pytest

from custodes.errors import StoreError
from custodes.link import (
    PERSON_LINK_COLUMNS,
    LinkResult,
    link_people,
    load_links,
    save_links,
)
from custodes.link.model import MIN_TRAINING_PAIRS, TRAINING_RULES, training_rules
from custodes.link.people import pairs_on
from custodes.link.prepare import copy_inputs, prepare
from custodes.store import ingest, open_store
from custodes.synth import generate

WORKFORCE = """person_id,role,surname,forenames,date_of_birth,home_postcode,home_address,unit_id,joined,left
P900001,officer,Quillfeather,Katherine Anne,1984-03-07,QQ1 5AB,"1 Test Road, Testtown",U001,2010-01-01,
P900002,staff,Marchbanks,Daniel,1979-05-14,QQ3 1AA,"9 Far Lane, Testtown",U001,2012-01-01,
P900003,officer,Ashcombe,Thomas,1988-11-02,QQ2 2BB,"4 Mill Close, Testtown",U001,2015-01-01,
P900004,staff,Wolstenholme,Robert,1983-04-09,QQ6 1AA,"8 Kiln Lane, Testtown",U001,2016-01-01,
P900005,officer,Fenwicke-Hollis,Imogen,1986-08-21,QQ7 3CD,"2 Weir View, Testtown",U001,2017-01-01,
"""
RELATIONS = """person_id,relation,surname,forenames,date_of_birth,postcode
P900003,partner,Ravensworth,Emily Jane,1990-02-14,QQ2 2BB
P900003,next_of_kin,Ravensworth,Emily Jane,1990-02-14,QQ2 2BB
"""
SUBJECTS = """subject_id,surname,forenames,date_of_birth,postcode,address,flags
S9000001,Quillfeather,Kate,1984-07-03,QQ1 5AB,"1 Test Road, Testtown",
S9000002,Marchbanks,Daniel,1962-10-30,QQ4 8XY,"12 Other Street, Elsewhere",
S9000003,Pettigrew,Emily Jane,1990-02-14,QQ2 2BB,"4 Mill Close, Testtown",
S9000010,Oddington,Ruth,1950-06-01,QQ1 5AB,"1 test road  testtown",
S9000011,Oddington,Mark,1975-06-01,QQ1 5AB,"3 Test Road, Testtown",
S9000012,Penwhistle,Sam,1990-01-01,QQ1 6AB,"5 Next Road, Testtown",
S9000013,Penwhistle,Jo,1991-01-01,QQ1 7AB,"7 Far Road, Testtown",
S9000020,Trevelyan,Alan,1970-01-01,QQ5 1AA,"2 Station Road, Elsewhere",police_employee
S9000004,Wolstenholme,Bob,1983-09-04,QQ8 4EF,"6 Old Road, Elsewhere",
S9000005,Fenwicke-Hollis,Imogen,,QQ9 5GH,"11 Dock Street, Elsewhere",
"""
HAND_MADE = ("P900001", "P900002", "P900003", "P900004", "P900005")


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 300-person synthetic force with the hand-made people added: (bundle, home)."""
    root = tmp_path_factory.mktemp("link")
    bundle, extra, home = root / "force", root / "extra", root / "home"
    generate(bundle, workforce=300, days=2, seed=3)
    extra.mkdir()
    for name, text in [("workforce", WORKFORCE), ("relations", RELATIONS), ("subjects", SUBJECTS)]:
        (extra / f"{name}.csv").write_text(text, encoding="utf-8")
    ingest(bundle, home)
    ingest(extra, home)
    return bundle, home


@pytest.fixture(scope="module")
def result(force: tuple[Path, Path]) -> LinkResult:
    with open_store(force[1]) as store:
        return link_people(store)


def links_of(result: LinkResult, person_id: str) -> dict[str, dict[str, object]]:
    rows = result.person_links.filter(pc.equal(result.person_links["person_id"], person_id))
    return {row["subject_id"]: row for row in rows.to_pylist()}


def test_a_nickname_with_day_and_month_swapped_is_the_same_person(result: LinkResult) -> None:
    link = links_of(result, "P900001")["S9000001"]
    assert link["relation"] == "self"
    assert link["match_probability"] >= 0.99
    evidence = json.loads(str(link["evidence"]))
    assert evidence == {
        "surname": "exact",
        "forenames": "nickname",
        "date_of_birth": "day_month_swapped",
        "postcode": "exact",
    }
    assert set(json.loads(str(link["field_weights"]))) == set(evidence)
    assert (link["source"], link["hr_forenames"]) == ("workforce", "Katherine Anne")


def test_a_stranger_with_the_same_name_but_another_birthday_is_not(result: LinkResult) -> None:
    assert links_of(result, "P900002") == {}


def test_a_married_name_is_linked_by_forenames_birthday_and_postcode(result: LinkResult) -> None:
    links = links_of(result, "P900003")
    assert list(links) == ["S9000003"]
    link = links["S9000003"]
    # The partner is also the next of kin: one person, one link, under the closer relation.
    assert link["relation"] == "partner"
    assert link["relations"] == ["partner", "next_of_kin"]
    assert json.loads(str(link["evidence"]))["surname"] == "different"
    assert (link["source"], link["hr_surname"]) == ("relations", "Ravensworth")


def test_a_nickname_swapped_birthday_and_a_move_meet_on_surname_and_swapped_date(
    result: LinkResult,
) -> None:
    """Bob for Robert, 9 April for 4 September, another district: no rule on the names, the
    date or the postcode holds, only the surname with the date read day-and-month swapped."""
    link = links_of(result, "P900004")["S9000004"]
    evidence = json.loads(str(link["evidence"]))
    assert (evidence["forenames"], evidence["date_of_birth"]) == ("nickname", "day_month_swapped")
    assert evidence["postcode"] == "different"


def test_a_missing_birthday_and_a_move_meet_on_the_names(result: LinkResult) -> None:
    link = links_of(result, "P900005")["S9000005"]
    evidence = json.loads(str(link["evidence"]))
    assert evidence == {
        "surname": "exact",
        "forenames": "exact",
        "date_of_birth": "missing",
        "postcode": "different",
    }


def test_the_first_em_session_narrows_only_when_enough_pairs_remain(
    force: tuple[Path, Path],
) -> None:
    """Blocked on the date of birth alone, EM scores every pair of strangers born the same day
    (1.2 M at 20,000 employees); also on the postcode district when that still leaves enough."""
    with open_store(force[1]) as store:
        work = duckdb.connect()
        copy_inputs(store.db, work)
    prepare(work)
    for keys in [("dob",), ("dob", "postcode_district"), ("surname", "forename1")]:
        on = " AND ".join(f"p.{k} = s.{k}" for k in keys)
        (pairs,) = work.sql(
            f"SELECT count(*) FROM link_people p JOIN link_subjects s ON {on}"
        ).fetchone() or (0,)
        assert pairs_on(work, keys) == pairs > 0, keys
    small = training_rules(lambda keys: pairs_on(work, keys))
    assert small == TRAINING_RULES  # 300 people: too few pairs to narrow
    large = training_rules(lambda keys: MIN_TRAINING_PAIRS)
    assert large[0] != TRAINING_RULES[0] and large[1:] == TRAINING_RULES[1:]


def test_neighbours_by_address_and_postcode_unit(result: LinkResult) -> None:
    rows = result.neighbours.filter(pc.equal(result.neighbours["person_id"], "P900001"))
    kinds = {row["subject_id"]: row["kind"] for row in rows.to_pylist()}
    assert kinds == {
        "S9000001": "same_address",  # her own record
        "S9000010": "same_address",  # same address, written differently
        "S9000011": "same_postcode_unit",
    }


def test_adjacent_postcode_sectors_are_listed_per_employee(result: LinkResult) -> None:
    rows = result.adjacent_sectors.filter(
        pc.equal(result.adjacent_sectors["person_id"], "P900001")
    ).to_pylist()
    assert [(r["home_sector"], r["postcode_sector"]) for r in rows] == [
        ("QQ1 5", "QQ1 4"),
        ("QQ1 5", "QQ1 6"),  # S9000012 lives here; QQ1 7 (S9000013) is not adjacent
    ]


def test_colleagues_are_linked_employees_and_flagged_records(result: LinkResult) -> None:
    rows = {r["subject_id"]: r for r in result.colleagues.to_pylist()}
    assert rows["S9000001"]["person_id"] == "P900001"
    assert rows["S9000001"]["unit_id"] == "U001"
    assert (rows["S9000001"]["linked"], rows["S9000001"]["flagged"]) == (True, False)
    assert rows["S9000020"]["person_id"] is None
    assert (rows["S9000020"]["linked"], rows["S9000020"]["flagged"]) == (False, True)


def test_links_are_saved_atomically_and_read_back(
    force: tuple[Path, Path], result: LinkResult, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="no links computed yet"):
        load_links(tmp_path)
    home = force[1]
    paths = save_links(home, result)
    assert {p.name for p in paths} == {
        "person_links.parquet",
        "neighbours.parquet",
        "adjacent_sectors.parquet",
        "colleagues.parquet",
        "model.json",
    }
    assert not [p for p in paths[0].parent.iterdir() if p.name.endswith(".tmp")]
    loaded = load_links(home)
    assert loaded.person_links.equals(result.person_links)
    assert loaded.person_links.column_names == list(PERSON_LINK_COLUMNS)
    assert loaded.model["link_type"] == "link_only"


def test_the_same_store_gives_the_same_links(force: tuple[Path, Path], result: LinkResult) -> None:
    with open_store(force[1]) as store:
        again = link_people(store)
    assert again.person_links.equals(result.person_links)


def test_quality_against_the_synthetic_truth(force: tuple[Path, Path], result: LinkResult) -> None:
    """Declared links only: an ex-partner never declared to HR has no row to link from."""
    with (force[0] / "truth" / "links.csv").open(encoding="utf-8") as f:
        truth = {
            (r["person_id"], r["subject_id"], r["relation"])
            for r in csv.DictReader(f)
            if r["declared"] == "true"
        }
    found = {
        (r["person_id"], r["subject_id"], r["relation"])
        for r in result.person_links.select(["person_id", "subject_id", "relation"]).to_pylist()
        if r["person_id"] not in HAND_MADE
    }
    correct = found & truth
    precision, recall = len(correct) / len(found), len(correct) / len(truth)
    assert len(truth) > 150
    assert precision >= 0.97, precision
    assert recall >= 0.93, recall
    for relation in ("self", "partner"):
        kind = {t for t in truth if t[2] == relation}
        assert len(kind & found) / len(kind) >= 0.9, relation
