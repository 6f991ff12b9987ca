"""Small event files, built byte by byte, for the formats the CLI cannot write.

`evlib generate --to FORMAT` writes EVT 3.0, EVT 2.0, DAT, HDF5, AEDAT 4.0, NumPy and text; these
builders add EVT 2.1, AEDAT 2.0 and AEDAT 3.1 (layouts as docs/formats.md sections 3, 9 and 10
describe them) and the HDF5 layouts other tools write. Every builder takes events as
``(t_us, x, y, on)`` tuples in file order and returns the path written.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

Event = tuple[int, int, int, int]

AEDAT3_POLARITY_EVENT = 1


def write_evt21(path: Path, events: Sequence[Event], width: int = 1280, height: int = 720) -> Path:
    """EVT 2.1 in the little layout: one TIME_HIGH word per 64 µs step, one single-bit mask each."""
    header = f"% evt 2.1\n% format EVT21;height={height};width={width}\n% end\n".encode()
    words = bytearray()
    time_high = None
    for t, x, y, on in events:
        if t >> 6 != time_high:
            time_high = t >> 6
            words += struct.pack("<Q", (0x8 << 60) | ((time_high & 0x0FFFFFFF) << 32))
        high = ((1 if on else 0) << 28) | ((t & 0x3F) << 22) | (x << 11) | y
        words += struct.pack("<Q", (high << 32) | 1)
    path.write_bytes(header + bytes(words))
    return path


def write_aedat2_davis346(path: Path, events: Sequence[Event]) -> Path:
    """AEDAT 2.0 from a DAVIS346: big-endian (address, time) records, jAER's bottom-right origin."""
    width, height = 346, 260
    header = (
        b"#!AER-DAT2.0\r\n"
        b"# This is a raw AE data file created by AEFileOutputStream\r\n"
        b"# AEChip: eu.seebetter.ini.chips.davis.Davis346red\r\n"
        b"#End Of ASCII Header\r\n"
    )
    records = bytearray()
    for t, x, y, on in events:
        address = ((height - 1 - y) << 22) | ((width - 1 - x) << 12) | ((1 if on else 0) << 11)
        records += struct.pack(">Ii", address, t)
    path.write_bytes(header + bytes(records))
    return path


def write_aedat31(path: Path, events: Sequence[Event], camera: str = "DAVIS346") -> Path:
    """AEDAT 3.1 with one polarity packet from source 1 (all times below 2^31 µs)."""
    header = (
        b"#!AER-DAT3.1\r\n#Format: RAW\r\n"
        + f"#Source 1: {camera}\r\n".encode()
        + b"#Start-Time: 2020-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n"
    )
    n = len(events)
    packet = struct.pack("<hhiiiiii", AEDAT3_POLARITY_EVENT, 1, 8, 4, 0, n, n, n)
    for t, x, y, on in events:
        data = (x << 17) | (y << 2) | ((1 if on else 0) << 1) | 1
        packet += struct.pack("<Ii", data, t)
    path.write_bytes(header + packet)
    return path
