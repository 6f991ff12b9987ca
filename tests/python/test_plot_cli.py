"""``python -m evlib plot`` and the ``evlib-plot`` console script: images written with the Agg
backend, and one-line errors without a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evlib

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

from conftest import DEMO, skip_or_fail  # noqa: E402


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    return subprocess.run([sys.executable, "-m", "evlib", *args], capture_output=True, text=True, env=env)


def test_rate_png(tmp_path: Path) -> None:
    out = tmp_path / "rate.png"
    done = run("plot", str(DEMO), str(out), "--bin", "1ms", "--dpi", "50")
    assert done.returncode == 0, done.stderr
    image = imread(out)
    assert image.shape[:2] == (200, 500)  # 10 x 4 inches at 50 dpi
    assert image.std() > 0.05  # not a blank image
    assert [p.name for p in tmp_path.iterdir()] == ["rate.png"]  # no temporary left behind


def test_xy_png_with_a_window_and_polarity(tmp_path: Path) -> None:
    out = tmp_path / "xy.png"
    done = run("plot", str(DEMO), str(out), "--kind", "xy", "--from", "5.002s", "--to", "5.01s",
               "--polarity", "on", "--linear")
    assert done.returncode == 0, done.stderr
    assert imread(out).shape[:2] == (int((720 * 8 / 1280 + 1.2) * 100), 1000)


@pytest.mark.parametrize(("args", "message"), [
    (("missing.raw",), "missing.raw"),
    (("garbage.raw",), "garbage.raw"),
    (("DEMO", "--bin", "0"), "bin must be positive"),
    (("DEMO", "--from", "later"), "cannot read 'later' as a time"),
    (("DEMO", "--format", "nosuch"), "nosuch"),
    (("DEMO", "--bin", "99999999999999999999"), ""),  # an OverflowError: a 25-line traceback before
    (("DEMO", "--from", "99999999999999999999s"), ""),
    (("DEMO", "--from", "1s", "--to", "0.5s"), "must not come before t_start"),  # an empty plot, exit 0, before
    (("DEMO", "--dpi", "100000"), "--dpi must be from 1 to 2400"),  # std::bad_alloc before
])
def test_errors_are_one_line_and_leave_no_image(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "garbage.raw").write_bytes(b"\x07not an event file\x00" * 100)
    source = str(DEMO) if args[0] == "DEMO" else str(tmp_path / args[0])
    out = tmp_path / "out.png"
    done = run("plot", source, str(out), *args[1:])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m evlib plot: error: ") and message in lines[0], done.stderr
    assert not out.exists()


def test_output_that_cannot_be_written_is_refused_before_reading(tmp_path: Path) -> None:
    for out, message in ((tmp_path / "rate.bmpx", "cannot write a bmpx image"),
                         (tmp_path / "no" / "rate.png", "does not exist")):
        done = run("plot", str(DEMO), str(out))
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_usage_errors_exit_2() -> None:
    assert run("plot", str(DEMO)).returncode == 2
    assert run("nosuch").returncode == 2
    assert "plot" in run("--help").stdout


def test_console_script(tmp_path: Path) -> None:
    script = shutil.which("evlib-plot", path=str(Path(sys.executable).parent)) or shutil.which("evlib-plot")
    if script is None:
        skip_or_fail("the evlib-plot console script is not installed (pip install .)")
    out = tmp_path / "xy.png"
    done = subprocess.run([str(script), str(DEMO), str(out), "--kind", "xy"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert imread(out).shape[2] == 4
    missing = subprocess.run([str(script), str(tmp_path / "missing.raw"), str(out)], capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.startswith("evlib-plot: error: ")
    assert "usage: evlib-plot" in subprocess.run([str(script), "--help"], capture_output=True, text=True).stdout


def test_main_in_process(tmp_path: Path) -> None:
    from evlib.__main__ import main

    assert main(["plot", str(DEMO), str(tmp_path / "r.svg"), "--bin", "5ms"]) == 0
    assert (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")
    assert evlib.__version__
