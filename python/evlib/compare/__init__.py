"""evlib against every other reader a user could pick, side by side, on the same files.

    python -m evlib.compare [FILES...] [--quick] [--json PATH] [--formats evt3,hdf5] [--out DIR]

Each peer runs in a fresh process of its own virtual environment (created on first use under
``~/.cache/evlib-compare/venvs``), each decode is checked against ours (count, time range, digest
of t/x/y/p), and the results are written as Markdown, JSON and PNG charts. See ``__main__.py``
for the options; modules: ``peers`` (the readers), ``venvs``, ``datasets``, ``measure``,
``correctness``, ``runner``, ``report``, ``charts``.
"""

from __future__ import annotations

from .peers import PEERS, Peer
from .runner import run_comparison

__all__ = ["PEERS", "Peer", "run_comparison"]
