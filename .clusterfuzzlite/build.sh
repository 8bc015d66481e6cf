#!/bin/bash -eu
# ClusterFuzzLite/OSS-Fuzz build: the same targets as `make fuzz`, with the engine and sanitizer
# chosen by the infrastructure ($CC, $CXX, $CFLAGS, $CXXFLAGS, $LIB_FUZZING_ENGINE), installed
# in $OUT with their seed corpora (<target>_seed_corpus.zip) and dictionaries (<target>.dict).
# libfdt (cloned into $SRC/dtc by the Dockerfile) is compiled with the same flags and linked
# statically, so the runner image needs nothing installed. The C++20 standard library is the
# builder's libc++ ($CXXFLAGS has -stdlib=libc++); CMake asks for -std=c++20 itself
# (fuzz/CMakeLists.txt).
cd "$SRC/bulkhead"
cmake_version=$(cmake --version | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')
if [ "$(printf '%s\n' 3.25 "$cmake_version" | sort -V | head -n1)" != 3.25 ]; then
  echo "build.sh: CMake $cmake_version found, fuzz/CMakeLists.txt needs 3.25 or later" >&2
  exit 1
fi
cmake -S fuzz -B build-cflite -G Ninja \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_TYPE=Release -DBH_FUZZ_ENGINE=ossfuzz \
  -DBH_LIBFDT_SOURCE_DIR="$SRC/dtc/libfdt"
cmake --build build-cflite -j"$(nproc)"
for target in hypercall manifest stage2 bhcc decode vgic smmu; do
  cp "build-cflite/fuzz_$target" "$OUT/"
  [ -f "fuzz/dict/$target.dict" ] && cp "fuzz/dict/$target.dict" "$OUT/fuzz_$target.dict"
  (cd "fuzz/corpus/$target" && zip -q -r "$OUT/fuzz_${target}_seed_corpus.zip" .)
done
