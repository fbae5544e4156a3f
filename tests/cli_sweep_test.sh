#!/bin/sh
# CLI tests of `ecc sweep`: a 4-trial grid on the MLP (prune sparsity x quant
# method) with labelled held-out data: trials.jsonl holds 4 lines with every
# measured field, a rerun runs nothing, a deleted line reruns exactly that
# trial, a sweep killed with SIGKILL and restarted ends with each trial once;
# a bad option in an axis is refused by --dry-run (exit 1, nothing run); a
# trial failing at run time and trials past --timeout are recorded as failed
# while the others finish (exit 0); seeded random samples are reproducible;
# the SVG plots parse as XML, the fronts are non-empty and exactly the
# non-dominated trials; the help teaches with an example spec.
. "$(dirname "$0")/lib.sh"
D=$(pwd)
MLP=$D/testdata/mlp.onnx X=$D/testdata/fmnist_64.npy Y=$D/testdata/fmnist_64_labels.npy
lines() { grep -c . "$1" 2>/dev/null || echo 0; }
xml_ok() { # FILE...: each parses as XML with an <svg> root (Python's expat parser)
    /usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E
for f in sys.argv[1:]:
    assert E.parse(f).getroot().tag.endswith("svg"), f' "$@"
}
spec() { # FILE AXES [EXTRA]: a spec on the MLP with the given axes
    cat >"$1" <<JSON
{"model": "$MLP", "calib": "$X", "data": "$X", "labels": "$Y", "pipeline": "prune,quant",
 "axes": $2, "latency": {"batch": 8, "runs": 3} $3}
JSON
}
GRID='{"prune.sparsity": [0.5, 0.9], "quant.method": ["minmax", "mse"]}'
spec "$T/grid.json" "$GRID" ', "ecc": true'

# --- help and dry run
expect 0 "help sweep" -- "$ECC" help sweep
grep -q '"axes"' "$T/out" && grep -q 'prune.sparsity' "$T/out" && ok || bad "help shows a spec"
expect 0 "dry run" -- "$ECC" sweep "$T/grid.json" --dry-run
[ "$(grep -c pending "$T/out")" = 4 ] && ok || bad "dry run lists 4 trials: $(cat "$T/out")"
grep -q 'prune:sparsity=0.9,quant:method=mse' "$T/out" && ok || bad "dry run shows pipelines"

# --- a bad option in an axis: refused before any work, nothing run
spec "$T/bad.json" '{"prune.sparsity": [0.5, 1.5]}'
expect 1 "bad option, dry run" -- "$ECC" sweep "$T/bad.json" --dry-run -o "$T/bad"
one_line_error "bad option" "bad.json" "trial 2" "[0, 0.99]"
expect 1 "bad option, run" -- "$ECC" sweep "$T/bad.json" -o "$T/bad"
no_output_left "bad option runs nothing" "$T/bad"
spec "$T/badp.json" '{"prun.sparsity": [0.5]}'
expect 1 "axis naming no pass of the pipeline" -- "$ECC" sweep "$T/badp.json" --dry-run
says "axis without its pass" "no trial's pipeline has the pass 'prun'"
printf '{"model": "%s", "data": "%s", "axes": {"prune.sparsity": [0.5]}, "typo": 1}' \
    "$MLP" "$X" >"$T/typo.json"
expect 2 "unknown spec key" -- "$ECC" sweep "$T/typo.json" --dry-run
says "unknown key" 'unknown key "typo"'
expect 1 "missing -o" -- "$ECC" sweep "$T/grid.json"

# --- the grid: 4 results with their fields
expect 0 "sweep" -- "$ECC" sweep "$T/grid.json" -o "$T/s"
[ "$(lines "$T/s/trials.jsonl")" = 4 ] && ok || bad "4 lines: $(lines "$T/s/trials.jsonl")"
[ ! -s "$T/err" ] && ok || bad "nothing on stderr when it is not a terminal: $(cat "$T/err")"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
const need = ["key", "status", "pipeline", "command", "onnx_bytes", "ecc_bytes", "accuracy",
  "agreement", "sqnr_db", "latency_b1_ms", "latency_bn_ms", "params", "flops",
  "compress_seconds"];
for (const l of lines) {
  const r = JSON.parse(l);
  for (const k of need) if (r[k] === undefined || r[k] === null) throw new Error(k + " in " + l);
  if (r.status !== "ok" || !(r.accuracy > 0.3) || !(r.flops > 4e5) || !(r.ecc_bytes < r.onnx_bytes))
    throw new Error("implausible " + l);
  if (!r.command.includes(" compress ") || !r.command.includes(r.pipeline))
    throw new Error("command " + r.command);
}' "$T/s/trials.jsonl" && ok || bad "fields of every result line"
# the recorded command reproduces the model
cmd=$(node -e 'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[3];
  console.log(JSON.parse(l).command)' "$T/s/trials.jsonl")
sh -c "$(echo "$cmd" | sed "s| -o [^ ]*| -o $T/again.onnx|") -q" && ok || bad "command runs: $cmd"
m4=$(node -e 'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[3];
  console.log(JSON.parse(l).key)' "$T/s/trials.jsonl")
cmp -s "$T/again.onnx" "$T/s/models/$m4.onnx" && ok || bad "the command reproduces the model"
for f in trials.csv summary.md pareto.json pareto_bytes.svg pareto_latency.svg flops_latency.svg; do
    [ -s "$T/s/$f" ] && ok || bad "$f written"
done
[ "$(lines "$T/s/trials.csv")" = 5 ] && ok || bad "csv: header + 4 rows"
xml_ok "$T/s"/*.svg && ok || bad "SVGs parse as XML"
[ "$(grep -c '<circle' "$T/s/pareto_bytes.svg")" = 4 ] && ok || bad "every trial plotted"
grep -q 'fill="#d62728"' "$T/s/pareto_bytes.svg" && ok || bad "the front is marked"
# the fronts: non-empty, and exactly the non-dominated trials
node -e '
const fs = require("fs");
const rs = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const p = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
for (const [cost, list] of [[p.bytes, p.front_bytes], [p.latency, p.front_latency]]) {
  if (!list.length) throw new Error("empty front over " + cost);
  const on = new Set(list.map(t => t.key));
  for (const a of rs) {
    const dom = rs.some(b => b[p.quality] >= a[p.quality] && b[cost] <= a[cost] &&
                             (b[p.quality] > a[p.quality] || b[cost] < a[cost]));
    if (dom === on.has(a.key)) throw new Error(cost + ": " + a.key + " dominated=" + dom);
  }
}' "$T/s/trials.jsonl" "$T/s/pareto.json" && ok || bad "fronts are the non-dominated trials"
grep -q '| front |' "$T/s/summary.md" && grep -Eq '\| (B|L|BL) \|$' "$T/s/summary.md" && ok ||
    bad "summary marks the front"

# --- restarts: nothing again; a deleted line reruns exactly that trial
expect 0 "rerun" -- "$ECC" sweep "$T/grid.json" -o "$T/s"
grep -q '0 run (0 failed), 4 already' "$T/out" && ok || bad "rerun runs 0: $(cat "$T/out")"
[ "$(lines "$T/s/trials.jsonl")" = 4 ] && ok || bad "rerun adds no line"
sed -i 2d "$T/s/trials.jsonl"
expect 0 "rerun after a lost line" -- "$ECC" sweep "$T/grid.json" -o "$T/s"
grep -q '1 run (0 failed), 3 already' "$T/out" && ok || bad "reruns exactly 1: $(cat "$T/out")"
[ "$(lines "$T/s/trials.jsonl")" = 4 ] && ok || bad "4 lines again"
printf '{"key":"cut by a cr' >>"$T/s/trials.jsonl" # a line a crash cut: skipped, not glued
expect 0 "rerun after a cut line" -- "$ECC" sweep "$T/grid.json" -o "$T/s" -q
[ ! -s "$T/out" ] && ok || bad "-q prints nothing"

# --- SIGKILL midway, restart: every trial exactly once
spec "$T/six.json" '{"prune.sparsity": [0.3, 0.5, 0.7], "quant.method": ["minmax", "mse"]}'
"$ECC" sweep "$T/six.json" -o "$T/k" >/dev/null 2>&1 &
pid=$!
i=0
while [ "$(lines "$T/k/trials.jsonl")" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
expect 0 "restart after SIGKILL" -- "$ECC" sweep "$T/six.json" -o "$T/k"
node -e '
const ks = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")
  .filter(l => l.startsWith("{")).map(l => JSON.parse(l).key);
if (ks.length !== 6 || new Set(ks).size !== 6) throw new Error(ks.join(" "));
' "$T/k/trials.jsonl" && ok || bad "6 distinct results after a kill: $(cat "$T/out")"

# --- failures: one at run time (the option is valid, no layer matches), others fine
spec "$T/fail.json" '{"prune.include": ["*", "nomatch*"]}'
expect 0 "sweep with a failing trial" -- "$ECC" sweep "$T/fail.json" -o "$T/f"
grep -q '2 run (1 failed)' "$T/out" && ok || bad "one of two failed: $(cat "$T/out")"
node -e '
const rs = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const f = rs.find(r => r.status === "failed"), g = rs.find(r => r.status === "ok");
if (!f || !g || f.exit_code !== 1 || !/^ecc: error: .*matches no layer/.test(f.error))
  throw new Error(JSON.stringify(rs));' "$T/f/trials.jsonl" && ok || bad "failed trial recorded"
grep -q 'Failed trials' "$T/f/summary.md" && ok || bad "summary lists the failure"
expect 0 "a failed trial is not rerun" -- "$ECC" sweep "$T/fail.json" -o "$T/f"
grep -q '0 run' "$T/out" && ok || bad "failed stays recorded: $(cat "$T/out")"
expect 0 "--retry-failed" -- "$ECC" sweep "$T/fail.json" -o "$T/f" --retry-failed
grep -q '1 run (1 failed)' "$T/out" && ok || bad "retry runs the failed one: $(cat "$T/out")"
expect 0 "timeouts" -- "$ECC" sweep "$T/grid.json" -o "$T/t" --timeout 0.001
grep -q '4 run (4 failed)' "$T/out" && ok || bad "all past the timeout: $(cat "$T/out")"
grep -q 'timed out after 0.001 s' "$T/t/trials.jsonl" && ok || bad "timeout recorded"
xml_ok "$T/t"/*.svg && ok || bad "SVGs with no measured trial parse"
expect 1 "bad --timeout" -- "$ECC" sweep "$T/grid.json" -o "$T/t" --timeout -1

# --- whole pipelines and seeded random samples
spec "$T/pl.json" '{"pipeline": ["", "quant", "prune:sparsity=0.5"], "prune.sparsity": [0.5, 0.8]}'
expect 0 "pipeline axis" -- "$ECC" sweep "$T/pl.json" --dry-run
# "" and quant have no prune: each once; prune twice (0.5 twice collapses): 4 trials
grep -q '^4 trial' "$T/out" && ok || bad "pipeline axis trials: $(cat "$T/out")"
spec "$T/r.json" '{"prune.sparsity": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "quant.method": ["minmax", "mse"]}' \
    ', "sample": {"random": 3, "seed": 7}'
expect 0 "random sample" -- "$ECC" sweep "$T/r.json" --dry-run
cp "$T/out" "$T/r1"
grep -q '^3 trial(s) (random sample)' "$T/r1" && ok || bad "3 sampled: $(cat "$T/r1")"
expect 0 "random sample again" -- "$ECC" sweep "$T/r.json" --dry-run
cmp -s "$T/out" "$T/r1" && ok || bad "same seed, same trials"
summary cli-sweep
