#!/bin/bash -eu
# ClusterFuzzLite/OSS-Fuzz build: the same targets as `make fuzz`, with the engine and sanitizer
# chosen by the infrastructure ($CC, $CXX, $CFLAGS, $CXXFLAGS, $LIB_FUZZING_ENGINE), installed
# in $OUT with their seed corpora (<target>_seed_corpus.zip) and dictionaries (<target>.dict).
# libfdt is linked statically so that the runner image needs nothing installed.
cd "$SRC/bulkhead"
cmake -S fuzz -B build-cflite -G Ninja \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_TYPE=Release -DBH_FUZZ_ENGINE=ossfuzz \
  -DBH_LIBFDT_LIBRARY=/usr/lib/x86_64-linux-gnu/libfdt.a
cmake --build build-cflite -j"$(nproc)"
for target in hypercall manifest stage2 bhcc smmu; do
  cp "build-cflite/fuzz_$target" "$OUT/"
  [ -f "fuzz/dict/$target.dict" ] && cp "fuzz/dict/$target.dict" "$OUT/fuzz_$target.dict"
  (cd "fuzz/corpus/$target" && zip -q -r "$OUT/fuzz_${target}_seed_corpus.zip" .)
done
