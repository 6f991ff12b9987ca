#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_aedat2, fuzz_aedat3 and fuzz_aedat4 into fuzz/corpus/<target>/
from the AEDAT test vectors of docs/formats.md (9.4, 10.3, 11.5) plus hand-made inputs that reach the
rare paths (APS/IMU records, special packets, frames, unknown streams, the file data table).
Every seed is synthetic. Deterministic: re-running it rewrites the same files. fuzz/make_corpus.sh
calls it at its end.

LZ4 and Zstd frames are built by hand with stored (uncompressed) blocks, so no codec library is
needed; the fuzzer mutates them from there. Control prefixes: see fuzz_aedat2.cpp / fuzz_aedat3.cpp
(5 bytes, as fuzz_common.hpp) and fuzz_aedat4.cpp (1 mode byte).
"""
import struct

from seed_files import OUT, emit


def ctl(geometry, options=0, split=0, sink=0):
    return bytes([geometry, options, split & 255, split >> 8 & 255, sink])


def be(addr, t):
    return struct.pack(">II", addr & 0xFFFFFFFF, t & 0xFFFFFFFF)


# ---------------------------------------------------------------- AEDAT 1.0 / 2.0 records
def davis(xf, yf, p):
    return yf << 22 | xf << 12 | p << 11


davis_mix = b"".join([
    bytes.fromhex("19 0C 88 00 00 01 E2 40"),          # docs/formats.md 9.4 vector 2
    be(0x80000000 | davis(3, 4, 0) | 0x155, 10),        # APS sample
    be(0x80000C00 | 0x1234, 11),                        # IMU word
    be(0x400 | 3, 12), be(0x400 | 2, 13), be(0x400, 14),  # external input rising, falling, pulse
    be(davis(300, 5, 1), 15),                           # x beyond 240/346
    be(davis(10, 140, 1), 0xFFFFFFF0), be(davis(11, 141, 0), 0x10),  # time wrap
])
emit("fuzz_aedat2", "spec_9.4.2_davis346", ctl(1 | 1 << 1, 0, 5, 0) + davis_mix)
emit("fuzz_aedat2", "davis240_pieces", ctl(1, 0, 13, 1 << 6 | 3) + davis_mix + b"\x01\x02\x03")
emit("fuzz_aedat2", "spec_9.4.3_dvs128",
     ctl(0, 0, 3, 0) + bytes.fromhex("00 00 01 04 00 00 13 88") + be(0x8000, 5001) + be(0x80000000, 5002))
emit("fuzz_aedat2", "aedat1_dvs128", ctl(8, 0, 7, 2 << 6) + bytes.fromhex("01 04 00 00 13 88 01 05 00 00 13 89 80 00 00 00"))

# ---------------------------------------------------------------- AEDAT 3.x packets
def packet(ptype, size, overflow, capacity, number, valid, words, ts_offset=4):
    head = struct.pack("<hhiiiiii", ptype, 1, size, ts_offset, overflow, capacity, number, valid)
    return head + struct.pack("<%dI" % len(words), *words)


def pol(x, y, p, valid=1):
    return x << 17 | y << 2 | p << 1 | valid


def special(t, valid=1):
    return t << 1 | valid


spec_10_3 = bytes.fromhex("01 00 01 00 08 00 00 00 04 00 00 00 01 00 00 00 02 00 00 00 02 00 00 00 02 00 00 00"
                          "53 00 14 00 E8 03 00 00 01 00 FE 00 D0 07 00 00")
aedat3_mix = b"".join([
    packet(1, 8, 0, 3, 2, 1, [pol(1, 2, 1), 10, pol(3, 4, 0, 0), 11, pol(9, 9, 1), 12]),  # invalid + unused slot
    packet(0, 8, 1, 4, 4, 4, [special(2), 100, special(3), 200, special(12), 300, special(0), 400]),
    packet(2, 40, 0, 1, 1, 1, [0xFFFFFFFF] * 10, 12),                                       # frame
    packet(3, 36, 0, 1, 1, 1, [0x12345678] * 9),                                             # IMU6
    packet(1, 8, 0, 1, 5, 1, [pol(1, 1, 1), 1]),                                             # inconsistent counts
    packet(1, 8, 2, 1, 1, 1, [pol(200, 1, 1), 2]),                                           # x beyond 128
])
emit("fuzz_aedat3", "spec_10.3_dvs128", ctl(1, 0, 30, 0) + spec_10_3)
emit("fuzz_aedat3", "mixed_packets", ctl(1, 0, 41, 1 << 6 | 1) + spec_10_3 + aedat3_mix)
emit("fuzz_aedat3", "v30_flip_truncated", ctl(1 | 8, 0, 60, 3 << 6) + aedat3_mix + packet(1, 8, 0, 2, 2, 2, [pol(5, 5, 1)]))
emit("fuzz_aedat3", "dead_framing", ctl(0, 0, 3, 0) + packet(1, 0, 0, 1, 1, 1, []) + spec_10_3)

# ---------------------------------------------------------------- AEDAT 4.0
PRIME1, PRIME2, PRIME3, PRIME4, PRIME5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
M32 = 0xFFFFFFFF


def rotl(v, r):
    return ((v << r) | (v >> (32 - r))) & M32


def xxh32(data, seed=0):
    """xxHash32, written from its published description (needed for the LZ4 frame header checksum)."""
    n, i = len(data), 0
    if n >= 16:
        acc = [(seed + PRIME1 + PRIME2) & M32, (seed + PRIME2) & M32, seed & M32, (seed - PRIME1) & M32]
        while i + 16 <= n:
            for k in range(4):
                lane = struct.unpack_from("<I", data, i + 4 * k)[0]
                acc[k] = (rotl((acc[k] + lane * PRIME2) & M32, 13) * PRIME1) & M32
            i += 16
        h = (rotl(acc[0], 1) + rotl(acc[1], 7) + rotl(acc[2], 12) + rotl(acc[3], 18)) & M32
    else:
        h = (seed + PRIME5) & M32
    h = (h + n) & M32
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * PRIME3) & M32, 17) * PRIME4) & M32
        i += 4
    while i < n:
        h = (rotl((h + data[i] * PRIME5) & M32, 11) * PRIME1) & M32
        i += 1
    h ^= h >> 15
    h = (h * PRIME2) & M32
    h ^= h >> 13
    h = (h * PRIME3) & M32
    h ^= h >> 16
    return h


def lz4_stored(data, content_size=False):
    flg = 0x60 | (0x08 if content_size else 0)
    desc = bytes([flg, 0x40]) + (struct.pack("<Q", len(data)) if content_size else b"")
    out = b"\x04\x22\x4d\x18" + desc + bytes([(xxh32(desc) >> 8) & 0xFF])
    for k in range(0, len(data), 65536):
        block = data[k:k + 65536]
        out += struct.pack("<I", len(block) | 0x80000000) + block
    return out + struct.pack("<I", 0)


def zstd_stored(data):
    assert len(data) < 65536 + 256
    if len(data) < 256:
        head = bytes([0x20, len(data)])
    else:
        head = bytes([0x60]) + struct.pack("<H", len(data) - 256)
    block = struct.pack("<I", 1 | 0 << 1 | len(data) << 3)[:3] + data  # last block, raw
    return b"\x28\xb5\x2f\xfd" + head + block


def evts(events):
    body = b"".join(struct.pack("<qhhI", t, x, y, p) for t, x, y, p in events)
    fb = struct.pack("<I", 16) + b"EVTS" + struct.pack("<HHHH", 6, 8, 4, 0) + struct.pack("<iII", 8, 4, len(events))
    fb += body
    return struct.pack("<I", len(fb)) + fb


def trig(triggers):
    n = len(triggers)
    fb = bytearray(struct.pack("<I", 24) + b"TRIG" + struct.pack("<HHH", 6, 8, 4) + b"\0\0" +
                   struct.pack("<HHHH", 8, 16, 4, 12) + struct.pack("<iII", 16, 4, n))
    first = (36 + 4 * n + 7) & ~7
    for i in range(n):
        fb += struct.pack("<I", first + 16 * i - (36 + 4 * i))
    fb += b"\0" * (first - len(fb))
    for i, (t, ty) in enumerate(triggers):
        fb += struct.pack("<iqbBH", first + 16 * i - 16, t, ty, 0, 0)
    return struct.pack("<I", len(fb)) + bytes(fb)


def imus(count):
    # Root table {vector of tables}; every IMU table is an empty table sharing one vtable.
    fb = bytearray(struct.pack("<I", 16) + b"IMUS" + struct.pack("<HHH", 6, 8, 4) + b"\0\0" +
                   struct.pack("<iII", 8, 4, count))
    first = len(fb) + 4 * count + 4  # a 4-byte vtable {4, 4} right before the tables
    vt = first - 4
    for i in range(count):
        fb += struct.pack("<I", first + 4 * i - (len(fb)))
    fb += struct.pack("<HH", 4, 4)
    for i in range(count):
        fb += struct.pack("<i", first + 4 * i - vt)
    return struct.pack("<I", len(fb)) + bytes(fb)


def ftab(entries):
    n = len(entries)
    fb = bytearray(struct.pack("<I", 32) + b"FTAB" + struct.pack("<HHH", 6, 8, 4) + b"\0\0" +
                   struct.pack("<7H", 14, 44, 4, 12, 20, 28, 36) + b"\0\0" + struct.pack("<iII", 24, 4, n))
    first = (44 + 4 * n + 7) & ~7
    for i in range(n):
        fb += struct.pack("<I", first + 48 * i - (44 + 4 * i))
    fb += b"\0" * (first - len(fb))
    for i, (off, sid, size, count, t0, t1) in enumerate(entries):
        fb += struct.pack("<iqiiqqq", first + 48 * i - 16, off, sid, size, count, t0, t1) + b"\0" * 4
    return struct.pack("<I", len(fb)) + bytes(fb)


def io_header(compression, table, xml):
    xml = xml.encode()
    fb = bytearray(struct.pack("<I", 24) + b"IOHE" + b"\0" * 6 + struct.pack("<5H", 10, 20, 4, 12, 8) +
                   struct.pack("<iiIq", 10, compression, 12, table) + struct.pack("<I", len(xml)) + xml + b"\0")
    while len(fb) % 4:
        fb += b"\0"
    return b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(fb)) + bytes(fb)


def stream(sid, ident, w=0, h=0):
    s = '<node name="%d" path="/o/%d/"><attr key="typeIdentifier" type="string">%s</attr><node name="info" path="/i/">' % (sid, sid, ident)
    if w:
        s += '<attr key="sizeX" type="int">%d</attr><attr key="sizeY" type="int">%d</attr>' % (w, h)
    return s + "</node></node>"


def xml(*streams):
    return '<dv version="2.0"><node name="outInfo" path="/mainloop/Recorder/outInfo/">' + "".join(streams) + "</node></dv>"


def file_with(compression, packets, with_table, streams_xml, frame=lambda b: b):
    head_no_table = io_header(compression, -1, streams_xml)
    body, entries = b"", []
    offset = len(head_no_table)
    for sid, plain, count, t0, t1 in packets:
        payload = frame(plain)
        entries.append((offset + len(body) + 8, sid, len(payload), count, t0, t1))
        body += struct.pack("<ii", sid, len(payload)) + payload
    if not with_table:
        return head_no_table + body
    table_at = len(head_no_table) + len(body)
    return io_header(compression, table_at, streams_xml) + body + frame(ftab(entries))


spec_11_5 = bytes.fromhex("2C 00 00 00 10 00 00 00 45 56 54 53 06 00 08 00 04 00 00 00 08 00 00 00 04 00 00 00 01 00 00 00"
                          "E8 03 00 00 00 00 00 00 05 00 07 00 01 00 00 00")
assert evts([(1000, 5, 7, 1)]) == spec_11_5
events_a = [(1_000_000 + 3 * i, (i * 37) % 346, (i * 11) % 260, i & 1) for i in range(40)]
events_b = [(2_000_000 + i, (i * 7) % 400, (i * 5) % 300, 1) for i in range(12)]  # some beyond 346x260
four = xml(stream(0, "EVTS", 346, 260), stream(1, "FRME", 346, 260), stream(2, "IMUS"), stream(3, "TRIG"))
packets = [
    (0, evts(events_a), 40, events_a[0][0], events_a[-1][0]),
    (2, imus(3), 3, 0, 0),
    (3, trig([(1_000_010, 1), (1_000_020, 2), (1_000_030, 0), (1_000_040, 5)]), 4, 1_000_010, 1_000_040),
    (1, b"\xAB" * 40, 1, 0, 0),
    (7, b"\xCD" * 8, 0, 0, 0),
    (0, evts(events_b), 12, events_b[0][0], events_b[-1][0]),
]
emit("fuzz_aedat4", "file_spec_11.5_none", b"\x00" + io_header(0, -1, xml(stream(0, "EVTS", 346, 260))) +
     struct.pack("<ii", 0, len(spec_11_5)) + spec_11_5)
emit("fuzz_aedat4", "file_streams_none_table", b"\x00" + file_with(0, packets, True, four))
emit("fuzz_aedat4", "file_streams_lz4_table", b"\x00" + file_with(1, packets, True, four, lambda b: lz4_stored(b)))
emit("fuzz_aedat4", "file_streams_lz4_size_no_table", b"\x00" + file_with(1, packets, False, four, lambda b: lz4_stored(b, True)))
emit("fuzz_aedat4", "file_streams_zstd_table", b"\x00" + file_with(3, packets, True, four, zstd_stored))
emit("fuzz_aedat4", "payload_evts_spec_11.5", b"\x01" + spec_11_5)
emit("fuzz_aedat4", "payload_trig", b"\x01" + trig([(5, 1), (6, 2), (7, 3), (8, 4), (9, 9)]))
emit("fuzz_aedat4", "payload_imus", b"\x01" + imus(4))
emit("fuzz_aedat4", "payload_ftab", b"\x01" + ftab([(2342, 0, 7949, 918, 10, 20), (99, 2, 5, 1, 30, 30)]))
emit("fuzz_aedat4", "frame_lz4", b"\x02" + lz4_stored(evts(events_a)))
emit("fuzz_aedat4", "frame_lz4_size", b"\x02" + lz4_stored(evts(events_a), True))
emit("fuzz_aedat4", "frame_zstd", b"\x02" + zstd_stored(evts(events_a)))
for option, name in ((0, "none"), (1, "lz4"), (5, "lz4_size"), (2, "zstd")):
    emit("fuzz_aedat4", "packed_" + name, b"\x03" + bytes([option]) + evts(events_a + events_b))

print("wrote AEDAT seeds under", OUT)
