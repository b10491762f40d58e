#!/usr/bin/env bash
# Checks that the Linux x64 prebuild is self-contained and that a packed tarball installs and trains
# with it on a machine state with no compiler and no OpenBLAS library:
#   1. npm run prebuild, then ldd of the .node: only libc, libm, libstdc++, libgcc_s, the loader
#      (and libpthread/libdl); no OpenBLAS or libgfortran symbol left undefined or exported;
#   2. npm pack: the tarball holds the prebuild;
#   3. in a private mount namespace (unshare -m, root or sudo) where every OpenBLAS, BLAS/LAPACK,
#      libgfortran and libquadmath shared library is an empty file, with PATH holding only node, npm
#      and sh: npm install of the tarball into a fresh directory (a build would fail: no cmake, no
#      compiler), then `rnn-native train --backend native` on the demo corpus.
# Prints one PASS or FAIL line per check; exit 0 only when all pass. Linux x64 only.
#
#   bash scripts/check-prebuild.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

failures=0
pass() { echo "check-prebuild: PASS $*"; }
fail() { echo "check-prebuild: FAIL $*"; failures=$((failures + 1)); }
finish() {
  if [ "$failures" -eq 0 ]; then echo "check-prebuild: all checks passed"; exit 0; fi
  echo "check-prebuild: $failures check(s) failed"; exit 1
}

# The part run inside the mount namespace: $2 = the work directory, $3 = the tarball.
if [ "${1:-}" = "--inside" ]; then
  work="$2"; tarball="$3"
  finish() { exit $((failures > 0)); } # the outer run prints the verdict
  empty="$work/empty"; : >"$empty"
  # Every shared library the loader could take BLAS or the Fortran runtime from.
  for lib in $(ldconfig -p | awk '/libopenblas|libblas|liblapack|libgfortran|libquadmath/ {print $NF}'); do
    mount --bind "$empty" "$(readlink -f "$lib")"
  done
  # The control: the system OpenBLAS really cannot be loaded now.
  if hidden=$(node -e 'try { process.dlopen({ exports: {} }, "libopenblas.so.0"); console.log("loaded") }
                       catch (e) { console.log(e.message) }') && [[ "$hidden" == *"too short"* ]]; then
    pass "libopenblas.so.0 is hidden from the loader ($hidden)"
  else
    fail "libopenblas.so.0 is not hidden from the loader ($hidden)"
  fi

  bin="$work/bin"; mkdir -p "$bin"
  for tool in node npm sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
  for tool in cmake make g++ c++ cc gcc clang; do
    if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then fail "$tool is on the stripped PATH"; fi
  done

  app="$work/app"; mkdir -p "$app"; cd "$app"
  echo '{ "name": "check-prebuild-app", "version": "1.0.0", "private": true }' >package.json
  if PATH="$bin" "$bin/npm" install --no-audit --no-fund --foreground-scripts "$tarball" >"$work/install.log" 2>&1; then
    pass "npm install of the tarball with no cmake, no compiler and no OpenBLAS"
  else
    cat "$work/install.log"; fail "npm install of the tarball"; finish
  fi
  pkg="$app/node_modules/rnn-native"
  if [ -e "$pkg/build" ]; then fail "the install built the addon ($pkg/build exists)"; else pass "the install ran no build"; fi
  loaded=$(PATH="$bin" "$bin/node" -e '
    const pkg = process.argv[1];
    console.log(require(require.resolve("node-gyp-build", { paths: [pkg] })).resolve(pkg))' "$pkg" || true)
  if [[ "$loaded" == "$pkg/prebuilds/linux-x64/"* ]]; then pass "the addon resolves to the prebuild ($loaded)"
  else fail "the addon resolves to $loaded, not the prebuild"; fi

  run="$work/run"; status=0
  PATH="$bin" "$bin/node" node_modules/.bin/rnn-native train --backend native --steps 300 --log-every 100 --sample-every 0 \
    --out "$run" --json >"$work/train.jsonl" 2>"$work/train.err" || status=$?
  if [ "$status" -eq 0 ]; then pass "rnn-native train --backend native --steps 300 on the demo corpus"
  else cat "$work/train.jsonl" "$work/train.err"; fail "rnn-native train --backend native (exit $status)"; finish; fi
  node -e '
    const fs = require("fs");
    const [jsonl, runDir] = process.argv.slice(1);
    const events = fs.readFileSync(jsonl, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const done = events.find((e) => e.event === "done");
    const logs = events.filter((e) => e.event === "log");
    const config = JSON.parse(fs.readFileSync(runDir + "/config.json", "utf8"));
    const problems = [];
    if (!done || done.steps !== 300) problems.push("no done event at step 300");
    if (config.backend !== "native") problems.push(`config.json backend is ${config.backend}`);
    if (logs.length < 2 || !(logs[logs.length - 1].smoothLoss < logs[0].smoothLoss)) problems.push("the smooth loss did not fall");
    if (problems.length) { console.log(problems.join("; ")); process.exit(1); }
    console.log(`backend native, smooth loss ${logs[0].smoothLoss.toFixed(1)} -> ${done.smoothLoss.toFixed(1)}, ${Math.round(done.updatesPerSecond)} updates/s`);
  ' "$work/train.jsonl" "$run" >"$work/verdict" && pass "trained on native: $(cat "$work/verdict")" \
    || fail "the training run: $(cat "$work/verdict")"
  finish
fi

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "check-prebuild: the self-contained prebuild is built for Linux x64 only" >&2
  exit 1
fi
work="$(mktemp -d -t rnn-check-prebuild.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "check-prebuild: npm run prebuild"
nice -n 19 npm run prebuild >"$work/prebuild.log" 2>&1 || { cat "$work/prebuild.log"; fail "npm run prebuild"; finish; }
addon=$(ls prebuilds/linux-x64/*.node)

# 1. What the prebuild needs at load time.
allowed='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|/lib64/ld-linux-x86-64\.so\.2)$'
needed=$(ldd "$addon" | awk '{print $1}')
extra=$(grep -v -E "$allowed" <<<"$needed" || true)
if [ -z "$extra" ]; then pass "ldd $addon: $(tr '\n' ' ' <<<"$needed")"
else fail "ldd $addon needs $(tr '\n' ' ' <<<"$extra")"; fi
undefined=$(nm -D --undefined-only "$addon" | grep -i -E 'gfortran|quadmath|blas|gotoblas|sgemm|sgemv' || true)
if [ -z "$undefined" ]; then pass "no OpenBLAS or libgfortran symbol is left undefined"
else fail "undefined symbols: $(tr '\n' ' ' <<<"$undefined")"; fi
exported=$(nm -D --defined-only "$addon" | grep -i -E 'cblas_|openblas_|gotoblas' || true)
if [ -z "$exported" ]; then pass "the static OpenBLAS's symbols are not exported"
else fail "exported OpenBLAS symbols: $(head -3 <<<"$exported" | tr '\n' ' ')"; fi

# 2. The tarball.
npm pack --pack-destination "$work" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "npm pack"; finish; }
tarball=$(ls "$work"/rnn-native-*.tgz)
if grep -q "^package/prebuilds/linux-x64/.*\.node$" <(tar -tzf "$tarball"); then pass "npm pack includes the prebuild"
else fail "the tarball has no prebuilds/linux-x64/*.node"; fi

# 3. Install and train with no compiler and no OpenBLAS.
unshare=(unshare -m)
[ "$(id -u)" -ne 0 ] && unshare=(sudo -n unshare -m)
if ! "${unshare[@]}" true 2>/dev/null; then
  fail "cannot create a mount namespace (${unshare[*]}); hiding OpenBLAS needs root or passwordless sudo"
  finish
fi
"${unshare[@]}" bash "$repo/scripts/check-prebuild.sh" --inside "$work" "$tarball" || failures=$((failures + 1))
finish
