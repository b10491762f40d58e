#!/usr/bin/env bash
# valgrind memcheck of a short training run and a sample on the normal build (build/Release,
# --backend native), to catch uninitialised reads and bad accesses in the addon and OpenBLAS that
# ASan cannot see (OpenBLAS is not instrumented there).
#
#   bash scripts/valgrind.sh [STEPS]      # default 300 steps, m = 32
#
# Leaks are not checked (node does not free everything at exit). Every error valgrind reports is
# counted; those with a frame in rnn_native.node or libopenblas are counted apart, since errors in
# V8 or libuv alone are not this project's. Exit 1 when there is an error in the addon or
# OpenBLAS, or when the run itself failed; other errors are printed but do not fail the script.
# Note: under valgrind, CPUID shows at most AVX2, so OpenBLAS runs its Haswell kernels here,
# not the AVX-512 ones it picks on the bare machine.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
[ -f dist/cli.js ] || { echo "valgrind: dist/cli.js missing; run npm run build:ts" >&2; exit 1; }
steps="${1:-300}"
work="$(mktemp -d -t rnn-valgrind.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# A ~200 KB text: tinyshakespeare when ../shared has it, else the demo corpus (no --data).
data=()
if [ -f ../shared/data/tinyshakespeare.txt ]; then
  head -c 200000 ../shared/data/tinyshakespeare.txt >"$work/text.txt"
  data=(--data "$work/text.txt")
fi

vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --errors-for-leak-kinds=none
  --trace-children=no --num-callers=40 --track-origins=yes)
status=0
t0=$(date +%s)
"${vg[@]}" --xml=yes --xml-file="$work/train.xml" node dist/cli.js train "${data[@]}" --backend native --steps "$steps" \
  --hidden 32 --checkpoint-every 100 --out "$work/run" --quiet || status=$?
"${vg[@]}" --xml=yes --xml-file="$work/sample.xml" node dist/cli.js sample --backend native --model "$work/run" --length 500 \
  >/dev/null || status=$((status ? status : $?))
t1=$(date +%s)

# Counts the <error> records of valgrind's XML output: all of them, and those with a frame in
# rnn_native.node or libopenblas (leak records left out); prints each with its first frames.
count() {
  node -e '
    const xml = require("fs").readFileSync(process.argv[1], "utf8");
    // Leak records (kind Leak_*) come from node itself at exit and are not checked here.
    const errors = (xml.match(/<error>[\s\S]*?<\/error>/g) || []).filter((e) => !/<kind>Leak_/.test(e));
    const ours = errors.filter((e) => /<obj>[^<]*(rnn_native\.node|libopenblas)[^<]*<\/obj>/.test(e));
    const tag = (e, t) => ((e.match(new RegExp(`<${t}>([^<]*)</${t}>`)) || [])[1] || "");
    for (const e of errors) {
      const frames = (e.match(/<frame>[\s\S]*?<\/frame>/g) || []).slice(0, 8)
        .map((f) => `      ${tag(f, "fn") || "?"} (${(tag(f, "obj") || "").split("/").pop()}${tag(f, "file") ? " " + tag(f, "file") + ":" + tag(f, "line") : ""})`);
      console.error(`  ${process.argv[2]}: ${tag(e, "kind")}: ${tag(e, "what") || tag(e, "text")}\n${frames.join("\n")}`);
    }
    console.log(errors.length, ours.length);' "$1" "$2"
}
read -r train_total train_addon < <(count "$work/train.xml" train)
read -r sample_total sample_addon < <(count "$work/sample.xml" sample)
echo "valgrind train ($steps steps, m = 32): $train_total errors, $train_addon in rnn_native.node or libopenblas"
echo "valgrind sample (500 characters): $sample_total errors, $sample_addon in rnn_native.node or libopenblas"
echo "valgrind: $((t1 - t0)) s"
if [ $((train_addon + sample_addon)) -ne 0 ]; then exit 1; fi
if [ "$status" -ne 0 ] && [ "$status" -ne 99 ]; then
  echo "valgrind: the run itself failed (exit $status)" >&2
  exit 1
fi
