#!/usr/bin/env bash
# Sets up rnn-native from a checkout: installs what building the addon needs (cmake, make, g++,
# pkg-config, OpenBLAS) through apt-get when it is missing, then the npm packages with `npm ci`,
# which builds the addon (cmake-js) and compiles the TypeScript.
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
