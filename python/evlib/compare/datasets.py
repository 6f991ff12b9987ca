"""Seeded synthetic recordings to compare on, and the reference decode of any file.

Files come from ``evlib generate OUT -n N --seed S --to FORMAT`` and are kept in the data
directory for later runs (the writers are atomic, so an existing file is a complete one). Text
is written with times in seconds (6 decimals), which every text reader here reads alike; the
CLI's text writer stores µs integers, which evlib 0.13.2 would take for seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Format name (as `evlib info` reports it) -> extension of the generated file. Peers that pick
# their decoder by extension (expelliarmus, faery) need these.
EXTENSIONS = {"evt3": ".raw", "evt2": ".raw", "dat": ".dat", "hdf5": ".h5", "aedat4": ".aedat4", "text": ".txt"}
DEFAULT_FORMATS = tuple(EXTENSIONS)


@dataclass(frozen=True)
class Reference:
    """What our CLI decodes from a file: the values every reader is checked against."""

    path: str
    format: str
    events: int
    t_min: int | None
    t_max: int | None
    digest: str
    file_bytes: int


def find_cli(explicit: str | None = None) -> str | None:
    """The evlib CLI: ``explicit``, else $EVLIB_CLI, else ``evlib`` on PATH, else
    build/tools/evlib/evlib in the current directory or a parent of it."""
    for candidate in (explicit, os.environ.get("EVLIB_CLI")):
        if candidate:
            return candidate
    on_path = shutil.which("evlib")
    if on_path:
        return on_path
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        built = folder / "build" / "tools" / "evlib" / "evlib"
        if built.is_file() and os.access(built, os.X_OK):
            return str(built)
    return None


def reference(cli: str, path: str, timeout_s: float) -> Reference:
    done = subprocess.run(
        [cli, "info", path, "--json", "--digest", "--threads", "1"],
        capture_output=True, text=True, timeout=timeout_s,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{path}: evlib info failed: {done.stderr.strip()}")
    info = json.loads(done.stdout)
    return Reference(
        path=path, format=info["format"], events=int(info["events"]),
        t_min=info.get("t_min"), t_max=info.get("t_max"), digest=info["digest"],
        file_bytes=os.path.getsize(path),
    )


def synthetic_path(data_dir: Path, fmt: str, events: int, seed: int) -> Path:
    return data_dir / f"synth-{events}-seed{seed}-{fmt}{EXTENSIONS[fmt]}"


def generate(cli: str, data_dir: Path, fmt: str, events: int, seed: int) -> Path:
    """The synthetic file of this format, size and seed, generated if it is not there yet."""
    path = synthetic_path(data_dir, fmt, events, seed)
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "text":
        _write_text_in_seconds(cli, data_dir, path, events, seed)
    else:
        subprocess.run([cli, "generate", str(path), "-q", "-n", str(events), "--seed", str(seed), "--to", fmt], check=True)
    return path


def _write_text_in_seconds(cli: str, data_dir: Path, path: Path, events: int, seed: int) -> None:
    """``# t x y p`` then ``<t s, 6 decimals> <x> <y> <p>`` lines, from the generated EVT 3.0
    file of the same seed (same events), written chunk by chunk through a temporary file."""
    import polars as pl

    from .. import iter_batches

    source = generate(cli, data_dir, "evt3", events, seed)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        out.write(b"# t x y p\n")
        for batch in iter_batches(str(source)):
            frame = pl.DataFrame(batch).select(
                (pl.col("t").cast(pl.Float64) / 1e6).alias("t"), "x", "y", "p"
            )
            frame.write_csv(out, include_header=False, separator=" ", float_precision=6, line_terminator="\n")
    partial.replace(path)


def link_with_extension(path: str, fmt: str, links_dir: Path) -> str:
    """``path`` itself when its extension is the one EXTENSIONS gives ``fmt``, else a symbolic
    link to it with that extension (for peers that choose a decoder by file name)."""
    wanted = EXTENSIONS.get(fmt)
    if wanted is None or path.endswith(wanted):
        return path
    links_dir.mkdir(parents=True, exist_ok=True)
    link = links_dir / (Path(path).name + wanted)
    if not link.exists():
        link.symlink_to(Path(path).resolve())
    return str(link)
