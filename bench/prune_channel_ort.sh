#!/bin/sh
# prune_channel_ort.sh — ONNX Runtime latency of the Fashion-MNIST CNN before
# and after `prune-channel:ratio=0.5`, measured in the same run with the same
# settings (one intra-op thread, all graph optimisations, median of repeated
# runs at batch 1 and batch 64), printed as the pruned/original ratio.
# Needs onnxruntime-node (tests/interop; `make deps`); skipped without it.
BUILD=${BUILD:-build}
ORT_DIR="$(pwd)/tests/interop/node_modules/onnxruntime-node"
[ -d "$ORT_DIR" ] || { echo "prune_channel_ort: skip (onnxruntime-node missing)"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MODEL=${1:-testdata/cnn.onnx}
"$BUILD/ecc" compress "$MODEL" -o "$T/pruned.onnx" --passes prune-channel:ratio=0.5 -q || exit 1
node - "$ORT_DIR" "$MODEL" "$T/pruned.onnx" <<'EOF'
const [ortDir, a, b] = process.argv.slice(2);
const ort = require(ortDir);
const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
               logSeverityLevel: 3 };
async function median(sess, batch, reps) {
    const x = new ort.Tensor('float32', new Float32Array(batch * 784).map((_, i) => (i % 97) / 97),
                             [batch, 1, 28, 28]);
    const feeds = { [sess.inputNames[0]]: x };
    for (let i = 0; i < 10; i++) await sess.run(feeds);
    const t = [];
    for (let i = 0; i < reps; i++) {
        const t0 = process.hrtime.bigint();
        await sess.run(feeds);
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.sort((p, q) => p - q);
    return t[t.length >> 1];
}
(async () => {
    const sa = await ort.InferenceSession.create(a, opts);
    const sb = await ort.InferenceSession.create(b, opts);
    for (const [batch, reps] of [[1, 400], [64, 60]]) {
        const ta = await median(sa, batch, reps), tb = await median(sb, batch, reps);
        console.log(`prune_channel_ort: batch ${batch}: original ${ta.toFixed(3)} ms, ` +
                    `pruned ${tb.toFixed(3)} ms, ratio ${(tb / ta).toFixed(3)}`);
    }
})().catch(e => { console.error(e.message); process.exit(1); });
EOF
