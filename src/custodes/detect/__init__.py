"""Detection: signals of misuse from explanations, linkage and behaviour, grouped into alerts
with evidence. See ``rules`` (the rules, as data), ``alerts`` and ``run``; ``docs/detect.md``."""

from custodes.detect.rules import RULES, Rule
from custodes.detect.run import DetectReport, detect_home, export_alerts, load_alerts

__all__ = ["RULES", "DetectReport", "Rule", "detect_home", "export_alerts", "load_alerts"]
