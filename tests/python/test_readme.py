"""The README's Python examples run as written (from the repository root)."""

from __future__ import annotations

import os
import re

import pytest

from conftest import REPO


def python_examples() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert len(python_examples()) >= 3


@pytest.mark.parametrize("index", range(len(python_examples())))
def test_readme_python_example_runs(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code = python_examples()[index]
    exec(compile(code, f"README.md python example {index + 1}", "exec"), {"__name__": "__readme__"})
