#!/usr/bin/env python3
"""Writes the synthetic text and NumPy seeds that imitate real recordings' layouts into
fuzz/corpus/fuzz_text/ and fuzz/corpus/fuzz_npy/: an RPG-style text file (time in seconds with
nine decimals, 240x180 coordinates, cut in the middle of a line) and a packed structured array
(t <i8, x <i2, y <i2, p |u1) whose header announces more records than the file holds. The events
come from a seeded generator, not from any recording. Deterministic; fuzz/make_corpus.sh calls it.
The other NumPy and text seeds in those directories are hand-made files kept as they are.
"""
import random
import struct

from seed_files import emit


def events(seed, count, width, height, t_first_us):
    rng = random.Random(seed)
    t = t_first_us
    for _ in range(count):
        t += rng.choice([0, 1, 2, 5, 9, 17])
        yield t, rng.randrange(width), rng.randrange(height), rng.randrange(2)


# RPG layout: "t x y p" with t in seconds; the last line is cut (a file truncated mid-line).
lines = "".join("%d.%06d001 %d %d %d\n" % (t // 1_000_000, t % 1_000_000, x, y, p)
                for t, x, y, p in events(7, 90, 240, 180, 3800))
emit("fuzz_text", "rpg_seconds", b"\x00" + lines.encode()[:-7])

# A packed structured array announcing 4407 records but holding 50.
records = b"".join(struct.pack("<qhhB", t, x, y, p) for t, x, y, p in events(11, 50, 120, 100, 0))
header = "{'descr': [('t', '<i8'), ('x', '<i2'), ('y', '<i2'), ('p', '|u1')], 'fortran_order': False, 'shape': (4407,), }"
header += " " * (128 - 10 - 1 - len(header)) + "\n"
npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + records
emit("fuzz_npy", "packed_records_cut_short", b"\x00" + npy)
