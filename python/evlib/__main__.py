"""``python -m evlib COMMAND ...``: the Python package's commands (``plot``; ``evlib-plot`` is
``python -m evlib plot``).

A command is one line in :data:`COMMANDS`: ``"module:function"``, where the function takes the
subparsers, adds its parser (arguments, help) and sets ``run``, a function of the parsed
arguments returning the exit code. Errors a user can fix (a missing file, an unknown format, a
bad argument, a missing optional dependency) print one line and exit 1, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, Callable

COMMANDS: list[str] = [
    "evlib.plot:add_command",
]

Adder = Callable[[Any], argparse.ArgumentParser]


def _adder(entry: str) -> Adder:
    module, function = entry.split(":")
    adder: Adder = getattr(importlib.import_module(module), function)
    return adder


def parser(prog: str = "python -m evlib") -> argparse.ArgumentParser:
    """The parser of every registered command."""
    top = argparse.ArgumentParser(prog=prog, description="evlib's Python commands.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in COMMANDS:
        _adder(entry)(commands)
    return top


def _run(args: argparse.Namespace, prog: str) -> int:
    from . import _core

    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (_core.Error, OSError, ValueError, ImportError, OverflowError, TypeError, MemoryError, RuntimeError) as e:
        # (an argument past a binding's range is an OverflowError or a TypeError, a --dpi too
        # large a MemoryError: one line each, like the errors above)
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None, prog: str = "python -m evlib") -> int:
    args = parser(prog).parse_args(argv)
    return _run(args, f"{prog} {args.command}")


def command_main(entry: str, prog: str, argv: Sequence[str] | None = None) -> int:
    """One command as its own program (a console script): its parser alone, named ``prog``."""
    commands = argparse.ArgumentParser().add_subparsers()
    command = _adder(entry)(commands)
    command.prog = prog
    return _run(command.parse_args(argv), prog)


def plot_main() -> None:
    """The ``evlib-plot`` console script."""
    sys.exit(command_main("evlib.plot:add_command", "evlib-plot"))


if __name__ == "__main__":
    sys.exit(main())
