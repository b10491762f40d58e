#!/usr/bin/env bash
# Builds wasm/rnn_native.wasm, the WebAssembly backend: the same kernels as the addon
# (native/kernels/) with native/kernels/blas-simd.cc standing in for CBLAS, the same argument
# checks (native/checks.cc), and the C ABI of native/wasm.cc, for wasm32-wasi with 128-bit SIMD.
# Needs Debian's clang, lld, wasi-libc, libc++-dev-wasm32 and libclang-rt-dev-wasm32
# (scripts/setup.sh installs them).
# The module is a WASI "reactor" (a library: no main); lib/engine/wasm.ts gives it the few WASI
# imports it has.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${RNN_WASM_CXX:-clang++}
mkdir -p wasm
# -fno-exceptions: the wasm32 libc++ has none; an allocation failure traps, and lib/engine/wasm.ts
# reports the trap as "rnn-native: out of memory".
flags=(--target=wasm32-wasi -std=c++17 -O3 -msimd128 -fno-exceptions -DRNN_BLAS_PORTABLE -Wall)
# The model's limits, from lib/model-limits.json, as CMakeLists.txt passes them to the addon.
while read -r name value; do
  flags+=("-DRNN_LIMIT_${name^^}=$value")
done < <(sed -n 's/^ *"\(max[A-Za-z]*\)": *\([0-9]*\).*/\1 \2/p' lib/model-limits.json)
"$CXX" "${flags[@]}" -mexec-model=reactor \
  -Wl,--export=malloc -Wl,--export=free -Wl,--strip-all \
  -Wl,--initial-memory=16777216 -Wl,--max-memory=4294967296 \
  native/wasm.cc native/checks.cc native/kernels/model.cc \
  native/kernels/blas-simd.cc \
  -o wasm/rnn_native.wasm.tmp
mv wasm/rnn_native.wasm.tmp wasm/rnn_native.wasm
echo "rnn-native: built wasm/rnn_native.wasm ($(wc -c < wasm/rnn_native.wasm) bytes)"
