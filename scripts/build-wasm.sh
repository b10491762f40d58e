#!/usr/bin/env bash
# Builds wasm/rnn_native.wasm, the WebAssembly backend: the same engine sources as the addon
# (native/rnn.cc, native/stacked.cc) with native/blas-simd.cc standing in for CBLAS, and the C ABI
# of native/wasm.cc, for wasm32-wasi with 128-bit SIMD. Needs Debian's clang, lld, wasi-libc,
# libc++-dev-wasm32 and libclang-rt-dev-wasm32 (scripts/setup.sh installs them).
# The module is a WASI "reactor" (a library: no main); lib/engine/wasm.ts gives it the few WASI
# imports it has.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${RNN_WASM_CXX:-clang++}
mkdir -p wasm
# -fno-exceptions: the wasm32 libc++ has none; an allocation failure traps, and lib/engine/wasm.ts
# reports the trap as "rnn-native: out of memory".
flags=(--target=wasm32-wasi -std=c++17 -O3 -msimd128 -fno-exceptions -DRNN_BLAS_PORTABLE -Wall)
"$CXX" "${flags[@]}" -mexec-model=reactor \
  -Wl,--export=malloc -Wl,--export=free -Wl,--strip-all \
  -Wl,--initial-memory=16777216 -Wl,--max-memory=4294967296 \
  native/wasm.cc native/rnn.cc native/stacked.cc native/blas-simd.cc \
  -o wasm/rnn_native.wasm.tmp
mv wasm/rnn_native.wasm.tmp wasm/rnn_native.wasm
echo "rnn-native: built wasm/rnn_native.wasm ($(wc -c < wasm/rnn_native.wasm) bytes)"
