"""Ctrl-C, callbacks, errors, threads at import, the GIL, pickling."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import evlib
from conftest import DEMO

INTERRUPTIBLE = """
import sys, evlib, polars as pl
path, how = sys.argv[1], sys.argv[2]
print("ready", flush=True)
while True:
    if how == "iter":
        for batch in evlib.open(path).iter_batches():
            pass
    else:
        evlib.scan_events(path).select(pl.col("x").sum()).collect()
"""


@pytest.mark.parametrize("how", ["iter", "collect"])
def test_sigint_stops_a_long_load(how: str, generate, tmp_path: Path) -> None:
    path = generate("evt3", 3_000_000, 11)
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE, str(path), how], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # inside the decoding loop by now
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr


def test_importing_evlib_starts_no_thread() -> None:
    # NumPy (OpenBLAS) and Polars start their own pools when imported; evlib adds none.
    code = (
        "import os, threading, numpy, polars\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "import evlib\n"
        "print(threading.active_count(), len(os.listdir('/proc/self/task')) - before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "0"]


FEEDS_A_FIFO_FROM_PYTHON = """
import os, sys, threading, evlib
source, fifo = sys.argv[1], sys.argv[2]
data = open(source, "rb").read()

def feed():
    with open(fifo, "wb") as f:
        for i in range(0, len(data), 4096):  # every piece needs the GIL
            f.write(data[i:i + 4096])
            f.flush()

feeder = threading.Thread(target=feed)
feeder.start()
batch = next(evlib._core.Scan(fifo).stream(by_count=10**9))  # one call decoding the whole stream
feeder.join()
print(len(batch))
"""


def test_decoding_releases_the_gil(generate, tmp_path: Path) -> None:
    # The decoder reads a FIFO that a Python thread fills 4 KiB at a time: it can only finish if
    # the GIL is free while it waits for data (a pipe holds 64 KiB; the file is far larger), so
    # a decode that held the GIL would hang here until the timeout.
    path = generate("evt3", 3_000_000, 12)
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-c", FEEDS_A_FIFO_FROM_PYTHON, str(path), str(fifo)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3000000"]


def test_progress_callback_gets_fraction_events_and_rate(generate) -> None:
    path = generate("evt3", 2_000_000, 13)
    calls: list[tuple[float, int, float]] = []
    n = sum(len(b) for b in evlib.open(path, chunk_events=100_000).iter_batches(progress=lambda *a: calls.append(a)))
    assert len(calls) >= 2
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert calls[-1][0] == pytest.approx(1.0) and calls[-1][1] == n
    assert all(rate >= 0 for _, _, rate in calls)


PARALLEL_LOAD_WITH_A_FAILING_CALLBACK = '''
import sys, evlib
path = sys.argv[1]
evlib.open(path).n_events  # a full pass: the time index is cached, so the load below runs in parallel
def fail(*args):
    raise KeyboardInterrupt
try:
    evlib.load_events(path, progress=fail).collect()
except KeyboardInterrupt:
    print("propagated")
'''


def test_an_exception_in_a_progress_callback_of_a_parallel_load_propagates(generate, tmp_path: Path) -> None:
    # The exception left the collector while its decoder threads were joinable: std::terminate.
    path = generate("evt3", 2_000_000, 15)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", PARALLEL_LOAD_WITH_A_FAILING_CALLBACK, str(path)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["propagated"]


def test_progress_bar_option_runs_through_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    frame = evlib.scan_events(DEMO, progress=True).collect()
    assert frame.height == 50_000


def test_an_exception_in_a_progress_callback_propagates(generate) -> None:
    path = generate("evt3", 2_000_000, 14)

    def fail(fraction: float, events: int, rate: float) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        for _ in evlib.open(path, chunk_events=100_000).iter_batches(progress=fail):
            pass
    with pytest.raises(Exception, match="stop here"):
        evlib.scan_events(path, progress=fail).collect()


def test_missing_file_is_an_oserror_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.raw"
    with pytest.raises(OSError, match="missing.raw") as raised:
        evlib.open(missing)
    assert isinstance(raised.value, evlib.FileError)


def test_undetectable_file_is_an_unsupported_format_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(evlib.UnsupportedFormatError, match="junk.bin") as raised:
        evlib.open(junk)
    assert isinstance(raised.value, OSError) and isinstance(raised.value, ValueError)


def test_corrupt_data_in_strict_mode_names_the_byte_offset(tmp_path: Path) -> None:
    data = bytearray(DEMO.read_bytes())
    payload = data.index(b"% end\n") + len(b"% end\n") if b"% end\n" in data else len(data) // 2
    for i in range(payload + 4000, payload + 4400, 2):
        data[i + 1] = (data[i + 1] & 0x0F) | 0x70  # a reserved EVT 3.0 word type
    bad = tmp_path / "bad.raw"
    bad.write_bytes(bytes(data))
    with pytest.raises(evlib.FormatError, match=r"bad\.raw: at byte \d+") as raised:
        evlib.scan_events(bad, strict=True).collect()
    assert isinstance(raised.value, ValueError)
    assert evlib.open(bad).decode_stats["corrupt"] > 0  # lenient: counted, not raised


def test_bad_arguments_raise_value_errors() -> None:
    with pytest.raises(ValueError):
        evlib.scan_events(DEMO, roi=(10, 0, 5, 5))
    with pytest.raises(ValueError):
        evlib.scan_events(DEMO, t_start="12 parsecs")
    with pytest.raises(ValueError):
        evlib.open(DEMO).iter_batches(by_count=10, by_time=10)
    with pytest.raises(TypeError):
        evlib.scan_events(DEMO, colour="blue")


def test_files_frames_and_configs_pickle() -> None:
    f = pickle.loads(pickle.dumps(evlib.open(DEMO)))
    assert (f.format, f.n_events) == ("evt3", 50_000)
    lazy = evlib.scan_events(DEMO).filter(pl.col("x") < 100)
    assert pickle.loads(pickle.dumps(lazy)).collect().equals(lazy.collect())
    config = evlib.LoadConfig(memory_limit="64M", chunk_events=10_000)
    assert pickle.loads(pickle.dumps(config)) == config and config.memory_limit == 64 << 20


def test_a_file_opened_in_a_with_block_is_closed_after_it_and_says_so_when_read() -> None:
    with evlib.open(DEMO) as f:
        assert not f.closed
        assert f.n_events == 50_000
        first = next(iter(f.iter_batches(by_count=1000)))
    assert f.closed and len(first) == 1000
    assert (f.format, f.width, f.n_events) == ("evt3", 1280, 50_000)  # the header and counts taken stay
    with pytest.raises(ValueError, match="closed"):
        f.iter_batches()
    with pytest.raises(ValueError, match="closed"):
        f.scan()
    unread = evlib.open(DEMO)
    unread.close()
    unread.close()  # twice: nothing more happens
    with pytest.raises(ValueError, match=str(DEMO)):
        unread.n_events
    assert pickle.loads(pickle.dumps(unread)).n_events == 50_000  # a copy opens the path again


def test_repr_is_cheap_and_says_what_the_file_is() -> None:
    f = evlib.open(DEMO)
    assert repr(f) == f"<evlib.EventFile {str(DEMO)!r} evt3 1280x720>"
    assert f._summary is None  # no pass over the events for a repr


def test_time_strings_and_timedeltas_are_microseconds() -> None:
    import datetime

    a = evlib.scan_events(DEMO, t_start="5.01s", t_end=datetime.timedelta(seconds=5, milliseconds=11)).collect()
    b = evlib.scan_events(DEMO, t_start=5_010_000, t_end="5011ms").collect()
    assert a.equals(b) and a.height > 0
    with pytest.raises(ValueError, match="whole number"):
        evlib.scan_events(DEMO, t_start="1.5us")


def test_by_time_batches_are_aligned_windows() -> None:
    batches = list(evlib.open(DEMO).iter_batches(by_time="1ms"))
    for batch in batches:
        start, end = batch.window
        t = batch.to_numpy()["t"]
        assert end - start == 1000 and ((t >= start) & (t < end)).all()
    assert sum(len(b) for b in batches) == 50_000


@pytest.mark.parametrize("width", [2**62, 2**63 - 1, 3, 2**63 - 10**6])
def test_by_time_windows_near_the_int64_limits_hold_every_event_once(tmp_path: Path, width: int) -> None:
    # The first time plus the width passed int64: the window's end wrapped and the stream recursed
    # until the stack ran out (a segfault).
    lowest, highest = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    t = np.array([lowest + 1, -5, 0, highest - 1, highest])
    path = tmp_path / "limits.npy"
    evlib.save({"t": t, "x": np.arange(5, dtype=np.uint16), "y": np.arange(5, dtype=np.uint16),
                "p": np.array([1, 0, 1, 1, 0], np.uint8)}, path, width=8, height=8)
    batches = list(evlib.open(path).iter_batches(by_time=width))
    got = [batch.to_numpy()["t"].tolist() for batch in batches]
    assert sum(got, []) == t.tolist()
    for batch, times in zip(batches, got):
        start, end = batch.window
        assert start == lowest + 1 + (int(times[0]) - (lowest + 1)) // width * width  # aligned on the first event
        assert end == min(start + width, highest)  # saturated where the end passes int64
        assert all(start <= x and (x < end or end == highest) for x in times)


@pytest.mark.parametrize("mode", [{"by_count": 150_000}, {"by_time": "5ms"}])
def test_dense_triggers_ride_on_batches_without_breaking_their_size_or_window(
    generate: Any, cli_info: Any, mode: dict[str, Any]
) -> None:
    # 907,500 trigger edges among 200,000 events: the C++ stream hands them out in chunks of
    # their own while a batch fills; a Python batch keeps its promised size or window.
    path = generate("evt2", 200_000, 3, "--trigger-rate", "1e8")
    expected = cli_info(path)
    batches = list(evlib.open(path).iter_batches(**mode))
    triggers = [b.triggers()["t"] for b in batches]
    assert sum(len(t) for t in triggers) == expected["triggers"] == 907_500
    all_t = np.concatenate(triggers)
    assert (np.diff(all_t) >= 0).all()
    sizes = [len(b) for b in batches]
    assert sum(sizes) == 200_000
    if "by_count" in mode:
        with_events = [s for s in sizes if s]
        assert with_events == [150_000, 50_000]
    else:
        assert all(b.window[1] - b.window[0] == 5000 for b in batches if len(b))


def test_a_file_that_grows_while_open_leaves_no_stale_index_for_later_readers(generate, tmp_path: Path) -> None:
    # The index of the bytes there at open was saved under the grown file's size and times:
    # every later reader stopped where the first one did.
    source = generate("evt2", 600_000, 16)
    live = tmp_path / "live.raw"
    data = source.read_bytes()
    live.write_bytes(data)
    header_end = 0
    while data[header_end:header_end + 1] == b"%":
        header_end = data.index(b"\n", header_end) + 1
    cache = str(tmp_path / "index")
    first = evlib.open(live, index_dir=cache)
    with live.open("ab") as out:
        out.write(data[header_end:])  # the same events once more
    first_count = first.n_events  # the file as it was at open
    whole = evlib.open(live, index="off").n_events
    assert first_count == 600_000 and whole == 2 * first_count
    assert evlib.open(live, index_dir=cache).n_events == whole


def test_an_iterator_continued_in_a_forked_child_raises_instead_of_hanging(generate) -> None:
    # Its decoder threads stay in the parent: next() in the child waited for them forever, and
    # the child's exit (destroying the stream) would have waited too. Run in a subprocess so
    # that pytest's own threads are not forked.
    path = generate("evt3", 1_000_000)
    script = f"""
import os, sys, time, evlib
it = evlib.open({str(path)!r}, threads=2).iter_batches(by_count=20_000)
next(it)
pid = os.fork()
if pid == 0:
    try:
        sum(1 for _ in it)  # the chunk in hand first, then the decoder's next one
        os._exit(3)
    except Exception as e:
        ok = "did not survive fork()" in str(e)
    sys.exit(0 if ok else 4)  # a normal exit: the stream is destroyed in the child
for _ in range(300):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    sys.exit("the child still waited after 30 s")
rest = sum(1 for _ in it)
print(os.waitstatus_to_exitcode(status), rest)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    code, rest = out.stdout.split()
    assert code == "0" and int(rest) > 0
