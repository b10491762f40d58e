#!/usr/bin/env bash
# Sets up rnn-native from a checkout: installs what building the addon needs (cmake, make, g++,
# pkg-config, OpenBLAS) and the WebAssembly backend needs (clang, lld, wasi-libc, the wasm32 libc++
# and compiler runtime) through apt-get when it is missing, then the npm packages with `npm ci`,
# which builds the addon (cmake-js) and compiles the TypeScript, then the .wasm (npm run build:wasm).
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 18 ]; then
  echo "rnn-native: Node.js 18.14 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas; }; then
  missing+=(libopenblas-dev)
fi
# The WebAssembly toolchain (Debian's packages and paths, which scripts/build-wasm.sh uses). Without
# apt-get it is not installed and the .wasm not built: a checkout then has the native and ts
# backends only (the npm package ships the .wasm).
wasm_missing=()
command -v clang++ >/dev/null 2>&1 || wasm_missing+=(clang)
command -v wasm-ld >/dev/null 2>&1 || wasm_missing+=(lld)
[ -e /usr/lib/wasm32-wasi/libc.a ] || wasm_missing+=(wasi-libc)
compgen -G '/usr/lib/llvm-*/lib/wasm32-wasi/libc++.a' >/dev/null || wasm_missing+=(libc++-dev-wasm32)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null || wasm_missing+=(libclang-rt-dev-wasm32)
build_wasm=1
if [ ${#wasm_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    missing+=("${wasm_missing[@]}")
  else
    echo "rnn-native: not building the WebAssembly backend: ${wasm_missing[*]} missing (Debian's package names)" >&2
    build_wasm=0
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "rnn-native: please install: ${missing[*]} (or your system's packages for them), then run this again" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "rnn-native: installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
if [ "$build_wasm" = 1 ]; then npm run build:wasm; fi
