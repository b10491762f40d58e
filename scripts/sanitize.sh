#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ (never
# touching build/Release), then runs the native tests (the addon boundary, the parity tests and the
# general model's native tests) against it, with the ASan runtime preloaded into an uninstrumented node.
#
#   bash scripts/sanitize.sh            # build + run; exit 0 only with 0 sanitizer errors
#   RNN_ASAN_OUT=dir bash scripts/sanitize.sh   # another build directory
#   RNN_SANITIZE_GREP='native addon boundary|parity|native boundary fuzz' bash scripts/sanitize.sh
#                                        # another mocha --grep (default: the two lines below)
#
# Exit codes: 0 = tests passed and no sanitizer report; 1 = a sanitizer report or a test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${RNN_ASAN_OUT:-build-asan}"
log="$(mktemp -t rnn-sanitize.XXXXXX.log)"
trap 'rm -f "$log"' EXIT

t0=$(date +%s)
echo "sanitize: building the addon with -fsanitize=address,undefined into $out/"
node node_modules/cmake-js/bin/cmake-js build --out "$out" --CDRNN_SANITIZE=ON -l warn >"$log" 2>&1 || {
  cat "$log"
  echo "sanitize: the build failed" >&2
  exit 1
}
addon="$PWD/$out/Release/rnn_native.node"
[ -f "$addon" ] || { cat "$log"; echo "sanitize: $addon was not built" >&2; exit 1; }
# The build must really be instrumented (a stale cache without the option would not be).
if [ "$(nm -D "$addon" | grep -c '__asan_init')" -eq 0 ]; then
  echo "sanitize: $addon has no ASan symbols; remove $out/ and run again" >&2
  exit 1
fi
t1=$(date +%s)

libasan="$(g++ -print-file-name=libasan.so)"
libubsan="$(g++ -print-file-name=libubsan.so)"
[ -f "$libasan" ] || { echo "sanitize: libasan.so not found (g++ -print-file-name=libasan.so gave $libasan)" >&2; exit 1; }

echo "sanitize: running the native tests under ASan + UBSan"
# detect_leaks=0: node itself does not free everything at exit. abort_on_error: a report kills the
# process (and fails the tests) instead of being lost in the output. The TypeScript is compiled by
# ts-node in this same process, which is slow under the preloaded runtime but correct.
set +e
LD_PRELOAD="$libasan:$libubsan" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  RNN_NATIVE_ADDON="$addon" \
  node node_modules/mocha/bin/mocha.js --grep "${RNN_SANITIZE_GREP:-native addon boundary|native boundary fuzz|parity: the native|native general model|native: the DD2424 configuration|tables shared with the native}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
t2=$(date +%s)

asan=$(grep -c 'ERROR: AddressSanitizer' "$log" || true)
ubsan=$(grep -c 'runtime error:' "$log" || true)
other=$(grep -cE 'ERROR: (LeakSanitizer|UndefinedBehaviorSanitizer)' "$log" || true)
passing=$(grep -oE '[0-9]+ passing' "$log" | tail -1 || true)
errors=$((asan + ubsan + other))
echo "sanitize: build $((t1 - t0)) s, tests $((t2 - t1)) s; ${passing:-0 passing}; mocha exit $status"
echo "sanitize: $errors errors (AddressSanitizer: $asan, runtime error: $ubsan, other sanitizer reports: $other)"
if [ "$errors" -ne 0 ] || [ "$status" -ne 0 ] || [ -z "$passing" ]; then
  exit 1
fi
