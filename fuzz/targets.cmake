# The fuzz targets: fuzz/<name>.cpp each define LLVMFuzzerTestOneInput and have seeds in
# fuzz/corpus/<name>/. Built as libFuzzer programs by fuzz/CMakeLists.txt and replayed over their
# corpora by the test suite (fuzz/replay/).
set(EVLIB_FUZZ_TARGETS fuzz_evt3 fuzz_evt2 fuzz_evt21 fuzz_dat fuzz_raw_header fuzz_reader fuzz_ecf
    fuzz_aedat2 fuzz_aedat3 fuzz_aedat4 fuzz_text fuzz_npy)
