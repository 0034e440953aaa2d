"""Verdicts as data: the status vocabulary, the `Verdict` record and generic decision rules.

A verdict is the outcome of a *rule* applied to measured numbers and their uncertainty. It carries the paper's
value, ours with its interval, the rule in words, the profile and configuration it was measured under and the
section of the book that shows it. Words for readers come from the report layer (`ntkbook.report`), which formats
verdicts; computation modules never build one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

#: The one status vocabulary of the book, strongest to weakest evidence.
HOLDS, PARTLY, DOES_NOT_HOLD = "holds", "partly", "does not hold"
NOT_RESOLVED, NOT_EVALUABLE, NOT_RUN = "not resolved", "not evaluable", "not run"
STATUSES = (HOLDS, PARTLY, DOES_NOT_HOLD, NOT_RESOLVED, NOT_EVALUABLE, NOT_RUN)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One claim's verdict.

    claim: stable id (e.g. "table1.trend.mnist.MLP-Attn"); statement: what is claimed; status: one of `STATUSES`;
    paper_value: the paper's number or wording (None if it states none); ours: our point estimate; interval: our
    interval (its level is named in `rule`); rule: the decision rule in words; profile: the profile measured under;
    config: ((knob, value), ...) of the configuration; section: the MyST label of the section that decides it;
    chapter: the document name of that section; beyond_paper: True for our own results beyond the paper's claims.
    """

    claim: str
    statement: str
    status: str
    paper_value: float | str | None
    ours: float | None
    interval: tuple[float, float] | None
    rule: str
    profile: str
    config: tuple = ()
    section: str = ""
    chapter: str = ""
    beyond_paper: bool = False

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.interval is not None:
            lo, hi = self.interval
            if not lo <= hi:
                raise ValueError(f"interval must satisfy low <= high, got {self.interval}")
            object.__setattr__(self, "interval", (float(lo), float(hi)))
        if isinstance(self.config, Mapping):
            object.__setattr__(self, "config", config_items(self.config))

    def as_row(self) -> dict:
        """The verdict as a flat dict (one row of the claims table)."""
        row = dataclasses.asdict(self)
        row["interval_low"], row["interval_high"] = self.interval if self.interval is not None else (None, None)
        row.pop("interval")
        row["config"] = ", ".join(f"{k}={v}" for k, v in self.config)
        return row


def config_items(config: Mapping) -> tuple:
    """A mapping of knobs as a sorted tuple of (name, value) pairs, hashable and stable; lists become tuples."""
    return tuple(sorted((str(k), tuple(v) if isinstance(v, list) else v) for k, v in config.items()))
