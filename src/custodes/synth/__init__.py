"""Synthetic police forces with ground truth: bundles to develop and judge Custodes on.

``generate`` writes a force bundle (v1) of plausible size and texture, with legitimate work,
hard-to-explain but legitimate access, and every misuse scenario, plus ``truth/`` files saying
which is which. See ``docs/synth.md``.
"""

from custodes.synth.generate import SynthSummary, generate
from custodes.synth.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SynthSummary", "generate"]
