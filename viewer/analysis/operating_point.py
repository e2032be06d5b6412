"""Where a finding stands against its model's operating point, in words (no Qt).

One decision, two forms: the long one for ``radsight analyze``'s printout, the short one for the
findings table. A finding is *marked* when its score ≥ its model's threshold and no other marking
rule (``hidden_by``, e.g. ``per_scan_cap``) hid it. Not for diagnostic use.
"""

from __future__ import annotations

from ai.findings import Finding

#: decision → (long form, short form); ``{t}`` the threshold, ``{rule}`` / ``{words}`` the hiding rule
_WORDS = {
    "marked without threshold": ("marked, no threshold", "marked (no threshold)"),
    "not marked without threshold": ("not marked", "not marked"),
    "below": ("below the threshold {t}, not marked", "< {t}"),
    "hidden by a rule": ("at or above the threshold {t}, not marked: rule {rule}",
                         "≥ {t}, not marked: {words}"),
    "marked": ("marked: at or above the threshold {t}", "marked: ≥ {t}"),
}


def rule_words(rule: str) -> str:
    """A marking rule's name as words (``per_scan_cap`` → "per scan cap")."""
    return rule.replace("_", " ")


def operating_point_decision(finding: Finding) -> str:
    """Which of the five cases of :data:`_WORDS` the finding is in."""
    if finding.threshold is None:
        return "marked without threshold" if finding.marked else "not marked without threshold"
    if not finding.passes_operating_point:
        return "below"
    return "hidden by a rule" if finding.hidden_by else "marked"


def operating_point_words(finding: Finding, short: bool = False) -> str:
    """The decision in true words: long ("below the threshold 0.676, not marked") or short ("< 0.676")."""
    long_form, short_form = _WORDS[operating_point_decision(finding)]
    rule = finding.hidden_by or ""
    threshold = "" if finding.threshold is None else f"{finding.threshold:.3g}"
    return (short_form if short else long_form).format(t=threshold, rule=rule, words=rule_words(rule))
