#!/usr/bin/env bash
# Writes the seed corpus of the fuzz targets into fuzz/corpus/<target>/ from the test vectors of
# docs/formats.md (sections 1.4, 2.5, 3.4, 4.5, 5.4, 7.4) plus a few hand-made streams that reach the
# rare word types. Every seed is synthetic: header values (dates, serial numbers) and payloads are
# made up, never taken from a recording. Deterministic: re-running it rewrites the same files and
# leaves the other seeds of fuzz/corpus/ (hand-made NumPy and text inputs, fixed-bug reproducers)
# alone.
#
# Decoder targets (fuzz_evt3, fuzz_evt2, fuzz_evt21, fuzz_dat) take a 5-byte control prefix before
# the payload (see fuzz/fuzz_common.hpp):
#   byte 0 geometry (bits 0-2 width index, bits 3-5 height index), byte 1 options (bit 0 time
#   shift, bit 1 EVT 2.1 legacy, bits 2-3 DAT type 0x00/0x0C/0x0E, bit 4 DAT version 1, bit 5
#   hand over to a decoder restored from state() at the split),
#   bytes 2-3 split point (LE), byte 4 sink capacity / piece size.
# Width table  {1, 17, 320, 640, 1280, 2047, 2048, 70000}, height table {1, 9, 240, 480, 720, 2047, 2048, 70000};
# DAT widths   {0, 1, 17, 120, 304, 640, 1280, 16384},  DAT heights {0, 1, 9, 100, 240, 480, 720, 16384}.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus
mkdir -p "$out"/{fuzz_evt3,fuzz_evt2,fuzz_evt21,fuzz_dat,fuzz_raw_header,fuzz_reader,fuzz_ecf}

# Escape-string builders: each prints \xHH sequences that `emit` turns into bytes.
hex() { local h; for h in "$@"; do printf '\\x%s' "$h"; done; }            # hex 01 08 40 ...
u8() { local v; for v in "$@"; do printf '\\x%02x' $((v & 255)); done; }
w16() { local v; for v in "$@"; do printf '\\x%02x\\x%02x' $((v & 255)) $((v >> 8 & 255)); done; }
w32() { local v; for v in "$@"; do w16 $((v & 0xFFFF)) $((v >> 16 & 0xFFFF)); done; }
# EVT 2.1 word from its logical halves: little layout stores L then H, legacy H then L.
w64() { local layout=$1 h=$2 l=$3; if [ "$layout" = legacy ]; then w32 "$h" "$l"; else w32 "$l" "$h"; fi; }
txt() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/%/%%/g'; }                  # literal text (no newlines)
nl() { printf '\\n'; }
emit() { local file=$1; shift; printf "$*" > "$file"; }
# Control prefix: geometry options split_lo split_hi sink
ctl() { u8 "$1" "$2" $(($3 & 255)) $(($3 >> 8 & 255)) "$4"; }

# Geometry bytes (width index | height index << 3).
G_1280x720=$((4 | 4 << 3))
G_640x480=$((3 | 3 << 3))
G_320x240=$((2 | 2 << 3))
G_2048=$((6 | 6 << 3))
G_17x9=$((1 | 1 << 3))
G_BIG=$((7 | 7 << 3))

######## EVT 2.0 (docs/formats.md 2.5) ########
evt2_v1=$(hex 01 08 40 11 0F 00 00 80 14 50 00 1A DF F9 53 0B 01 00 80 AC)
evt2_v2=$(hex FF FF FF 8F 04 18 C0 0F 00 00 00 80 06 28 80 10)
# Rare words: TH, OTHERS + CONTINUED, IMU + 5 CONTINUED, an IMU cut short, orphan CONTINUED,
# reserved types, TH going back a little (non-monotonic) then a lot (wrap), trigger, truncated tail.
evt2_mix=$(w32 0x80000100 0x1A005014 0xE0000016 0xF0001234 0xD0000001 0xF0000002 0xF0000003 0xF0000004 \
  0xF0000005 0xF0000006 0xD0000001 0xF0000002 0x1A005014 0xF0000000 0x30000000 0x90000000 \
  0x800000F0 0x0B53F9DF 0x8FFFFFF0 0x80000001 0x1A005014 0xAC801F01 0x2C000000)$(hex 01 02 03)
emit "$out/fuzz_evt2/spec_2.5.1" "$(ctl $G_640x480 0 7 0)$evt2_v1"
emit "$out/fuzz_evt2/spec_2.5.1_shift_pieces" "$(ctl $G_640x480 1 4 $((1 << 6)))$evt2_v1"
emit "$out/fuzz_evt2/spec_2.5.1_small_geometry" "$(ctl $G_17x9 0 10 $((3 << 6)))$evt2_v1"
emit "$out/fuzz_evt2/spec_2.5.2_wrap" "$(ctl $G_640x480 0 9 0)$evt2_v2"
emit "$out/fuzz_evt2/mixed_rare_words" "$(ctl $G_1280x720 0 33 $((2 << 6 | 5)))$evt2_mix"
emit "$out/fuzz_evt2/mixed_rare_words_restore" "$(ctl $G_1280x720 $((0x20)) 27 0)$evt2_mix"

######## EVT 2.1 (docs/formats.md 3.4) ########
evt21_little=$(hex 00 00 00 00 05 00 00 80 05 00 00 00 04 50 C0 10)
evt21_legacy=$(hex 05 00 00 80 00 00 00 00 04 50 C0 10 05 00 00 00)
emit "$out/fuzz_evt21/spec_3.4.2_little" "$(ctl $G_1280x720 0 8 0)$evt21_little"
emit "$out/fuzz_evt21/spec_3.4.2_legacy" "$(ctl $G_1280x720 2 5 $((1 << 6)))$evt21_legacy"
emit "$out/fuzz_evt21/spec_3.4.2_legacy_restore" "$(ctl $G_1280x720 $((0x22)) 13 0)$evt21_legacy"
for layout in little legacy; do
  opt=0; [ "$layout" = legacy ] && opt=2
  # openeb vectors: masks, wraps (TH max -> 0), TH(2^25) unsigned, a word before the first TH.
  v=$(w64 $layout 0x10000000 1)$(w64 $layout 0x80000000 0)$(w64 $layout 0x00002804 0x89)$(w64 $layout 0x10005006 0x4410)
  v+=$(w64 $layout 0x11400000 1)$(w64 $layout 0x8FFFFFFF 0)$(w64 $layout 0x80000000 0)$(w64 $layout 0x11400000 1)
  v+=$(w64 $layout 0x82000000 0)$(w64 $layout 0x11400000 1)$(w64 $layout 0x80000003 0)$(w64 $layout 0x00000000 1)
  emit "$out/fuzz_evt21/openeb_$layout" "$(ctl $G_320x240 $opt 20 0)$v"
  # Rare words and edges: full 32-bit mask at the right edge, trigger, OTHERS, orphan CONTINUED,
  # reserved type, out-of-range row, non-monotonic TH, shift, truncated tail.
  v=$(w64 $layout 0x80000010 0)$(w64 $layout 0x1027F2CF 0xFFFFFFFF)$(w64 $layout 0xA0400301 0)
  v+=$(w64 $layout 0xE0000016 0xF0000123)$(w64 $layout 0xF0000000 0)$(w64 $layout 0x30000000 0)
  v+=$(w64 $layout 0x000007FF 0x80000001)$(w64 $layout 0x80000008 0)$(w64 $layout 0x0F800000 0x00010001)$(hex 11 22 33)
  emit "$out/fuzz_evt21/mixed_$layout" "$(ctl $G_1280x720 $((opt | 1)) 27 $((2 << 6 | 9)))$v"
done

######## EVT 3.0 (docs/formats.md 4.5) ########
evt3_v2=$(hex 07 00 01 20 23 81 56 64 2C 01 F4 21 F5 29 01 A3)
evt3_v3=$(hex 01 80 10 60 05 00 64 38 01 48 00 40 81 50)
evt3_v4=$(hex FF 8F FF 6F 01 00 02 20 00 80 01 60 03 20)
emit "$out/fuzz_evt3/spec_4.5.2" "$(ctl $G_1280x720 0 5 0)$evt3_v2"
emit "$out/fuzz_evt3/spec_4.5.2_shift_pieces" "$(ctl $G_1280x720 1 3 $((1 << 6)))$evt3_v2"
emit "$out/fuzz_evt3/spec_4.5.3_vectors" "$(ctl $G_1280x720 0 7 $((2 << 6)))$evt3_v3"
emit "$out/fuzz_evt3/spec_4.5.3_vectors_narrow" "$(ctl $G_17x9 0 6 0)$evt3_v3"
emit "$out/fuzz_evt3/spec_4.5.4_wrap" "$(ctl $G_1280x720 0 9 0)$evt3_v4"
# openeb vectors (4.5 item 1): basic, events before TH, TH jumps, vector triplet, OTHERS group.
emit "$out/fuzz_evt3/openeb_basic" "$(ctl $G_320x240 0 3 0)$(w16 0x8000 0x0001 0x2002 0x2803)"
emit "$out/fuzz_evt3/openeb_before_th" "$(ctl $G_320x240 0 4 0)$(w16 0x0001 0x2002 0x8003 0x0004 0x2005)"
emit "$out/fuzz_evt3/openeb_th_jumps" "$(ctl $G_320x240 0 8 0)$(w16 0x8000 0x0001 0x2002 0x8002 0x2003 0x8003 0x2004)"
emit "$out/fuzz_evt3/openeb_loop" "$(ctl $G_320x240 0 11 $((1 << 6)))$(w16 0x8FFD 0x0001 0x2002 0x8001 0x2003 0x8002 0x2004)"
emit "$out/fuzz_evt3/openeb_vector_triplet" "$(ctl $G_320x240 0 5 0)$(w16 0x8000 0x0001 0x3001 0x4FFF 0x4FFF 0x50FF)"
emit "$out/fuzz_evt3/openeb_others" "$(ctl $G_320x240 0 6 0)$(w16 0x8000 0xE014 0xF123 0xF456 0x7007)"
# Rare words and edges: non-CD row (0x1), vectors without base / past the width / on a bad row,
# cut and orphan OTHERS groups, reserved types, trigger, TH going back, TIME_LOW going back,
# a long vector run (base advancing), odd trailing byte.
evt3_mix=$(w16 0x5001 0x8010 0x6100 0x1005 0x2003 0x4FFF 0x0005 0x47FF 0x3FF0 0x4FFF 0x4FFF 0x50FF \
  0x07FF 0x2001 0x4001 0x0010 0x3800 0x4FFF 0x4FFF 0x4FFF 0x4FFF 0x50FF 0xE01A 0xF001 0xE014 0xF001 0xF002 \
  0x7003 0xF000 0x7000 0x9000 0xB000 0xC000 0xD000 0xA301 0xA800 0x800F 0x8008 0x6FFF 0x6001 0x2FFF 0x27FF)$(hex 42)
emit "$out/fuzz_evt3/mixed_rare_words" "$(ctl $G_1280x720 0 21 $((3 << 6 | 7)))$evt3_mix"
emit "$out/fuzz_evt3/mixed_rare_words_2048" "$(ctl $G_2048 1 40 0)$evt3_mix"
emit "$out/fuzz_evt3/mixed_rare_words_big" "$(ctl $G_BIG 0 13 0)$evt3_mix"
# Regression (fixed in 2eb9ed9): width 70000, VECT_BASE_X 0 then 5833 empty VECT_12 words, so the
# next vector word starts at x = 69996 > 65535 — emitted x used to be truncated to 16 bits.
vect_run=$(printf '\\x00\\x40%.0s' $(seq 5833))
emit "$out/fuzz_evt3/regression_x_beyond_65535" "$(ctl $G_BIG 0 0 0)$(w16 0x8000 0x0001 0x3000)$vect_run$(w16 0x4001)"
emit "$out/fuzz_evt3/mixed_rare_words_restore" "$(ctl $G_1280x720 $((0x20)) 47 0)$evt3_mix"
emit "$out/fuzz_evt3/spec_4.5.2_restore" "$(ctl $G_1280x720 $((0x21)) 5 0)$evt3_v2"

######## DAT (docs/formats.md 5.4) ########
# DAT geometry bytes: widths {0,1,17,120,304,640,1280,16384}, heights {0,1,9,100,240,480,720,16384}.
D_NONE=0
D_640x480=$((5 | 5 << 3))
D_120x100=$((3 | 3 << 3))
dat_v1=$(hex 00 00 00 00 0C C0 01 00 29 00 00 00 46 40 08 10)
dat_v2=$(hex 64 00 00 00 7F C2 77 10 FF FF FF FF 00 40 00 00)
emit "$out/fuzz_dat/event2d" "$(ctl $D_NONE 0 5 0)$dat_v1"
emit "$out/fuzz_dat/event2d_120x100" "$(ctl $D_120x100 0 8 $((1 << 6)))$dat_v1"
emit "$out/fuzz_dat/spec_5.4.2_eventcd" "$(ctl $D_640x480 4 8 0)$dat_v2"
emit "$out/fuzz_dat/spec_5.4.2_eventcd_pieces" "$(ctl $D_640x480 4 3 $((3 << 6)))$dat_v2"
# Time wrap (drop > 2^31), small step back (no wrap), out-of-range x/y, polarity nibble, tail.
dat_mix=$(w32 0xFFFFFFF0 0x1000C27F 0x00000010 0x0000C27F 0x00000008 0x20000001 0x00000020 0x3FFFFFFF \
  0x00000030 0x0FFFC000)$(hex 01 02 03 04 05)
emit "$out/fuzz_dat/mixed_eventcd" "$(ctl $D_640x480 4 13 $((2 << 6 | 3)))$dat_mix"
emit "$out/fuzz_dat/mixed_eventcd_nogeometry" "$(ctl $D_NONE 4 0 0)$dat_mix"
# Regression (fixed in 2eb9ed9): a 1-event sink and an out-of-range record; feed() used to stop
# after min(records, room) records although the dropped record left the sink empty.
emit "$out/fuzz_dat/regression_feed_stops_early_with_room" "$(ctl $((1 | 1 << 3)) 4 0 0)$(w32 0 1 0 0)"
emit "$out/fuzz_dat/mixed_eventcd_restore" "$(ctl $D_640x480 $((0x24)) 11 0)$dat_mix"
# EventExtTrigger records: channel in bits 31:26, edge value in bits 3:0.
emit "$out/fuzz_dat/ext_trigger" "$(ctl $D_NONE 8 8 0)$(w32 100 0x04000001 200 0x04000000 0xFFFFFFFF 0xFC00000F 5 0)"
# Version 1 (old ATIS): x [8:0], y [16:9], p [17].
emit "$out/fuzz_dat/version1" "$(ctl $((4 | 4 << 3)) $((0x10)) 8 0)$(w32 10 $((303 | 239 << 9 | 1 << 17)) 11 $((304 | 1 << 9)) 12 $((5 | 240 << 9)))"

######## RAW / DAT headers (docs/formats.md 1.4, 5.4) ########
hdr_14="$(txt '% evt 3.0')$(nl)$(txt '% format EVT3;height=720;width=1280')$(nl)$(txt '% end')$(nl)"
hdr_evk4="$(txt '% camera_integrator_name Prophesee')$(nl)$(txt '% date 2021-03-04 10:20:30')$(nl)$(txt '% evt 3.0')$(nl)"
hdr_evk4+="$(txt '% format EVT3;height=720;width=1280')$(nl)$(txt '% generation 4.2')$(nl)$(txt '% geometry 1280x720')$(nl)"
hdr_evk4+="$(txt '% integrator_name Prophesee')$(nl)$(txt '% plugin_integrator_name Prophesee')$(nl)"
hdr_evk4+="$(txt '% plugin_name hal_plugin_imx636_evk4')$(nl)$(txt '% sensor_generation 4.2')$(nl)"
hdr_evk4+="$(txt '% serial_number 00000001')$(nl)$(txt '% system_ID 49')$(nl)$(txt '% end')$(nl)"
hdr_gen41="$(txt '% Date 2021-03-04 10:20:30')$(nl)$(txt '% evt 3.0')$(nl)$(txt '% firmware_version 1.2.3')$(nl)"
hdr_gen41+="$(txt '% integrator_name Prophesee')$(nl)$(txt '% plugin_name hal_plugin_gen41_evk3')$(nl)"
hdr_gen41+="$(txt '% serial_number 00000002')$(nl)$(txt '% system_ID 48')$(nl)"
hdr_gen3="$(txt '% Date 2021-03-04 10:20:30')$(nl)$(txt '% integrator_name Prophesee')$(nl)"
hdr_gen3+="$(txt '% plugin_name hal_plugin_gen3_fx3')$(nl)$(txt '% system_ID 21')$(nl)$(txt '% evt 2.0')$(nl)"
hdr_openeb="$(txt '% Key1 Value1')$(nl)$(txt '% Key2 Value2')$(nl)$(txt '% Key3 Value3')$(nl)$(txt '% Key3 Value3')$(nl)"
hdr_openeb+="$(txt '% end')$(nl)$(txt '% Key4 Value4')$(nl)"
hdr_evt21="$(txt '% format EVT21;endianness=legacy;height=720;width=1280')$(nl)$(txt '% end')$(nl)"
hdr_evt21_guess="$(txt '% evt 2.1')$(nl)$(txt '% geometry 640x480')$(nl)$(txt '% system_ID 0x40')$(nl)$(txt '% end')$(nl)"
hdr_evt2="$(txt '% format EVT2;height=480;width=640')$(nl)$(txt '% end')$(nl)"
hdr_crlf="$(txt '% format evt3;width=0x500;height=0x2d0;endianness=little')\\r$(nl)$(txt '%  	')$(nl)$(txt '% sensor_name GenX320')\\r$(nl)"
hdr_odd="$(txt '% format EVT4;width=99999999999;height=-1')$(nl)$(txt '% geometry 640x')$(nl)$(txt '% camera_integrator_name Other')$(nl)"
hdr_odd+="$(txt '% system_ID 30')$(nl)$(txt '% format HISTO3D')$(nl)$(txt '% end')"   # no final newline: incomplete
hdr_dat="$(txt '% Data file containing Event2D events.')$(nl)$(txt '% Version 2')$(nl)$(txt '% Width 640')$(nl)$(txt '% Height 480')$(nl)"
hdr_ncars="$(txt '% Data file containing N9Chronocam7Event2dE events.')$(nl)$(txt '% Version 2')$(nl)$(txt '% Date 2021-03-04 10:20:30')$(nl)"

emit "$out/fuzz_raw_header/spec_1.4.1" "$hdr_14$evt3_v2"
emit "$out/fuzz_raw_header/evk4" "$hdr_evk4$evt3_v3"
emit "$out/fuzz_raw_header/gen41_no_end" "$hdr_gen41$evt3_v2"
emit "$out/fuzz_raw_header/gen3_evt2" "$hdr_gen3$evt2_v1"
emit "$out/fuzz_raw_header/openeb_stream_with_end" "$hdr_openeb"
emit "$out/fuzz_raw_header/evt21_legacy" "$hdr_evt21$evt21_legacy"
emit "$out/fuzz_raw_header/evt21_guess" "$hdr_evt21_guess$evt21_little"
emit "$out/fuzz_raw_header/crlf_sensor_name" "$hdr_crlf$evt3_v4"
emit "$out/fuzz_raw_header/odd_values_incomplete" "$hdr_odd"
emit "$out/fuzz_raw_header/dat_header" "$hdr_dat$(hex 0C 08)$dat_v2"
# No header: the encoding is guessed from at least 64 payload bytes.
emit "$out/fuzz_raw_header/headerless_evt3" "$evt3_mix$evt3_mix"
emit "$out/fuzz_raw_header/headerless_evt2" "$evt2_v1$evt2_v1$evt2_v1$evt2_v1"

######## Whole files for the reader (content is the file; size % 3 picks .raw / .dat / no extension) ########
emit "$out/fuzz_reader/evt3_spec_1.4.1" "$hdr_14$evt3_v2$evt3_v3$evt3_v4"
emit "$out/fuzz_reader/evt3_evk4_mixed" "$hdr_evk4$evt3_mix"
emit "$out/fuzz_reader/evt3_gen41_no_end" "$hdr_gen41$(w16 0x8123 0x6010 0x0064 0x212C 0x292D 0x3010 0x4FFF 0x4FFF 0x50FF)"
emit "$out/fuzz_reader/evt2_gen3" "$hdr_gen3$evt2_v1$evt2_v2"
emit "$out/fuzz_reader/evt2_format" "$hdr_evt2$evt2_mix"
emit "$out/fuzz_reader/evt21_legacy" "$hdr_evt21$evt21_legacy$(w64 legacy 0x1027F2CF 0xFFFFFFFF)"
emit "$out/fuzz_reader/evt21_guess_layout" "$hdr_evt21_guess$evt21_little$(w64 little 0x80000006 0)$(w64 little 0x00000005 0xF0F0F0F0)"
emit "$out/fuzz_reader/dat_eventcd" "$hdr_dat$(hex 0C 08)$dat_v2$dat_mix"
emit "$out/fuzz_reader/dat_event2d_mangled_name" "$hdr_ncars$(hex 00 08)$dat_v1$dat_v1"
emit "$out/fuzz_reader/dat_trigger" "$hdr_dat$(hex 0E 08)$(w32 100 0x04000001 200 0x04000000)"
emit "$out/fuzz_reader/headerless_evt2_raw" "$evt2_v1$evt2_v1$evt2_v1$evt2_v1"

######## ECF blocks (docs/formats.md 7.4), unchanged: the input is one block ########
emit "$out/fuzz_ecf/spec_7.4.1_yxp" "$(hex 06 00 00 00 04 00 00 00 00 00 00 00 01 00 02 20 00 00 00 00 00 00 00 00 00)"
emit "$out/fuzz_ecf/spec_7.4.2_xp" "$(hex 09 00 00 00 10 27 00 00 00 00 00 00 02 E2 02 15 00 00 01 00 00)"
emit "$out/fuzz_ecf/spec_7.4.3_masked_x" "$(hex 0C 00 00 00 33 36 00 00 00 00 00 00 03 E3 02 78 02 03)"
emit "$out/fuzz_ecf/spec_7.4.4_large_delta" "$(hex 09 00 00 00 61 14 00 00 00 00 00 00 01 F2 F6 F4 F1 01 E2 02 15 00 00 01 00 00)"

# AEDAT seeds (fuzz_aedat2/3/4) and the RPG-style text and packed NumPy seeds come from their own
# generators.
python3 -B make_corpus_aedat.py
python3 -B make_corpus_arrays.py

total=$(du -sb "$out" | cut -f1)
echo "wrote $(find "$out" -type f | wc -l) seeds, $total bytes, under fuzz/$out"
