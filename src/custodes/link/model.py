"""The Splink model: what is compared, how pairs are found, how it is trained, where it cuts.

Four fields are compared, each as an ordered list of levels from "agrees best" to "different";
the label of each level is what the evidence of a link says (``surname: exact``). Splink learns
how much each level weighs: u (how often two different people agree that way) by sampling random
pairs with a fixed seed, m (how often one person's two records agree that way) by expectation
maximisation over blocked pairs. No labelled truth is used, so the same model works on a real
force. The prior (how likely two random records are one person) comes from exact agreement on
name and date of birth, assumed to catch :data:`EXACT_RULE_RECALL` of true links.

A pair is scored only if a blocking rule puts it forward: each rule is an exact agreement on two
or three cheap keys, chosen so that every kind of difference between two records of one person (a
nickname, a typo, a swapped date of birth, a married surname, a move) leaves at least one rule
that still holds, while no rule pairs everyone with a common surname.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.blocking_rule_library import And, CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

SEED = 20260105  # u sampling; any fixed value makes training repeatable
U_MAX_PAIRS = 2e6
EXACT_RULE_RECALL = 0.6
# A person's best subject is linked when the model finds it likelier than not to be the same
# person (the decision that minimises errors when a false link and a missed one cost the same);
# a further subject of the same person (a duplicate police record) only when near-certain.
MATCH_PROBABILITY_THRESHOLD = 0.5
DUPLICATE_PROBABILITY_THRESHOLD = 0.99


@dataclass(frozen=True)
class Field:
    """One compared field: its name in the evidence and its levels, best first.

    The first level is the null level (either side missing); Splink numbers the others from
    ``len(levels) - 2`` down to 0, which is how a prediction's ``gamma_<name>`` maps back to a
    label.
    """

    name: str
    levels: tuple[tuple[str, ComparisonLevelCreator], ...]

    def comparison(self) -> cl.CustomComparison:
        levels: list[ComparisonLevelCreator | dict[str, Any]] = [
            level.configure(label_for_charts=label) for label, level in self.levels
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def labels(self) -> dict[int, str]:
        """``gamma`` value -> label."""
        labels = {-1: self.levels[0][0]}
        top = len(self.levels) - 2
        labels.update({top - i: label for i, (label, _) in enumerate(self.levels[1:])})
        return labels


FIELDS = (
    Field(
        "surname",
        (
            ("missing", cll.NullLevel("surname")),
            ("exact", cll.ExactMatchLevel("surname").configure(tf_adjustment_column="surname")),
            ("one_edit", cll.DamerauLevenshteinLevel("surname", 1)),
            ("similar", cll.JaroWinklerLevel("surname", 0.88)),
            ("different", cll.ElseLevel()),
        ),
    ),
    Field(
        "forenames",
        (
            ("missing", cll.NullLevel("forenames")),
            (
                "exact",
                cll.ExactMatchLevel("forenames").configure(tf_adjustment_column="forenames"),
            ),
            ("first_forename", cll.ExactMatchLevel("forename1")),
            ("nickname", cll.ArrayIntersectLevel("forename_aliases", 1)),
            (
                "one_edit",
                cll.Or(
                    cll.DamerauLevenshteinLevel("forename1", 1),
                    cll.DamerauLevenshteinLevel("forenames", 1),
                ),
            ),
            ("different", cll.ElseLevel()),
        ),
    ),
    Field(
        "date_of_birth",
        (
            ("missing", cll.NullLevel("dob")),
            ("exact", cll.ExactMatchLevel("dob")),
            (
                "day_month_swapped",
                cll.CustomLevel("dob_l = dob_swapped_r OR dob_swapped_l = dob_r"),
            ),
            ("one_digit", cll.LevenshteinLevel("dob", 1)),
            ("different", cll.ElseLevel()),
        ),
    ),
    Field(
        "postcode",
        (
            ("missing", cll.NullLevel("postcode")),
            ("exact", cll.ExactMatchLevel("postcode")),
            ("same_sector", cll.ExactMatchLevel("postcode_sector")),
            ("same_district", cll.ExactMatchLevel("postcode_district")),
            ("different", cll.ElseLevel()),
        ),
    ),
)

# Every rule pairs a person with the subjects that agree exactly on a few keys, and each kind of
# difference between two records of one person breaks some rules and leaves others: a married
# surname keeps forename1 + dob, a move keeps surname + dob, a nickname keeps surname + dob, a typo
# in the surname keeps forename1 + dob, and any of these with a new address keeps a rule on the
# postcode. A date of birth with day and month swapped keeps the surname and the swapped date, or
# the names and the year; a missing one keeps the names. No rule pairs on the names alone or the
# surname and year alone: those paired every John Smith with every other (3.8 M pairs to score
# at 20,000 people, where these rules make 85 k and find the same links).
BLOCKING_RULES: tuple[BlockingRuleCreator, ...] = (
    block_on("surname", "dob"),
    block_on("forename1", "dob"),
    block_on("dob", "postcode"),
    block_on("surname", "postcode"),
    block_on("forename1", "postcode"),
    block_on("surname", "forename1", "birth_year"),
    # dob_swapped is the date with day and month exchanged, so the rule is symmetric.
    CustomRule("l.surname = r.surname AND l.dob_swapped = r.dob"),
    And(block_on("surname", "forename1"), CustomRule("l.dob IS NULL OR r.dob IS NULL")),
)

# EM sessions: each leaves out the fields its rule fixes and trains the others (the first
# trains the names, the second the date of birth and the postcode).
TRAINING_RULES: tuple[BlockingRuleCreator, ...] = (
    block_on("dob"),
    block_on("surname", "forename1"),
)
# The first session's pairs of strangers born on the same day grow with people x subjects (1.2 M
# at 20,000 employees and 450,000 subjects, a third of linkage's time). When also fixing the
# postcode district (which the second session trains anyway) still leaves MIN_TRAINING_PAIRS,
# the first session trains on those instead (20 k pairs there, for the same links); a small force
# keeps the date of birth alone, where the narrower block leaves too few pairs to learn from.
NARROW_FIRST_KEYS = ("dob", "postcode_district")
MIN_TRAINING_PAIRS = 10_000

# Exact agreement on these is near-certain to be one person; it sets the prior.
DETERMINISTIC_RULES: tuple[BlockingRuleCreator, ...] = (block_on("surname", "forenames", "dob"),)


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[f.comparison() for f in FIELDS],
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        # gamma_<field> (the level) and mw_<field> (its weight) are the evidence of a link.
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def training_rules(pairs_on: Callable[[tuple[str, ...]], int]) -> tuple[BlockingRuleCreator, ...]:
    """The EM sessions' blocking rules, given ``pairs_on(keys)``: how many pairs agree exactly
    on ``keys`` (see :data:`MIN_TRAINING_PAIRS`)."""
    if pairs_on(NARROW_FIRST_KEYS) >= MIN_TRAINING_PAIRS:
        return (block_on(*NARROW_FIRST_KEYS), *TRAINING_RULES[1:])
    return TRAINING_RULES


def train(linker: Any, rules: tuple[BlockingRuleCreator, ...] = TRAINING_RULES) -> None:
    """Estimate the prior, u and m (EM blocked by ``rules``) on the linker's data (no labels)."""
    linker.training.estimate_probability_two_random_records_match(
        list(DETERMINISTIC_RULES), recall=EXACT_RULE_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    for rule in rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
