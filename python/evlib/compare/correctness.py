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
WRONG = "wrong"
FAILED = "failed"
REFERENCE = "reference"


@dataclass(frozen=True)
class Verdict:
    status: str  # SAME, WRONG, FAILED or REFERENCE
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.status in (SAME, REFERENCE)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def cell(self) -> str:
        """As the Markdown table shows it."""
        if self.status == SAME:
            return "yes"
        if self.status == REFERENCE:
            return "reference"
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
