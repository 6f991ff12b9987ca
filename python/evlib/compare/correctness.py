"""Is a reader right? Its decoded events against the reference decode of the same file.

The check run of a reader (``_child.py ... check``) maps its output to evlib's rows (t in µs,
x, y, p with 1 = ON) and digests them in the order it returned them; the verdict compares the
count, the time range and that digest with ``evlib info --digest``. A fast reader that returns
other events, or the same ones in another order, is reported as wrong, with what differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .datasets import Reference
from .measure import Outcome

SAME = "same"
REORDERED = "reordered"  # the same events, some in another order (e.g. an unstable sort by t)
WRONG = "wrong"
FAILED = "failed"
REFERENCE = "reference"


@dataclass(frozen=True)
class Verdict:
    status: str  # SAME, WRONG, FAILED or REFERENCE
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.status in (SAME, REORDERED, REFERENCE)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def cell(self) -> str:
        """As the Markdown table shows it."""
        if self.status == SAME:
            return "yes"
        if self.status == REFERENCE:
            return "reference"
        if self.status == REORDERED:
            return f"yes, {self.detail}"
        return f"**{self.status.upper()}**: {self.detail}" if self.detail else f"**{self.status.upper()}**"


def judge(outcome: Outcome, ref: Reference) -> Verdict:
    if outcome.result is None:
        return Verdict(FAILED, outcome.error)
    got = outcome.result
    differences = []
    if got["events"] != ref.events:
        differences.append(f"{got['events']} events, not {ref.events}")
    if (got.get("t_min"), got.get("t_max")) != (ref.t_min, ref.t_max):
        differences.append(f"t {got.get('t_min')}..{got.get('t_max')} µs, not {ref.t_min}..{ref.t_max}")
    if got["digest"] != ref.digest:
        differences.append("other t/x/y/p values or order (digest differs)")
    return Verdict(WRONG, "; ".join(differences)) if differences else Verdict(SAME)


def only_order_may_differ(outcome: Outcome, ref: Reference) -> bool:
    """Same count and time range, another digest: worth comparing the events as a set."""
    got = outcome.result or {}
    return (got.get("events"), got.get("t_min"), got.get("t_max")) == (ref.events, ref.t_min, ref.t_max) and \
        got.get("digest") != ref.digest


def judge_as_set(got: dict[str, Any], ours: dict[str, Any]) -> Verdict:
    """``check-set`` results of a reader and of ours: the same rows sorted means the same events."""
    if "sorted_digest" not in got or got["sorted_digest"] != ours["sorted_digest"]:
        return Verdict(WRONG, "other t/x/y/p values (digest of the sorted rows differs too)")
    if got["t_digest"] == ours["t_digest"]:
        return Verdict(REORDERED, "events of equal time in another order")
    return Verdict(REORDERED, "the same events in another time order")
