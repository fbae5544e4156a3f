#!/usr/bin/env node
'use strict';
// ort_diff.js A.onnx B.onnx [--tol 1e-5] [input source] [--labels]
// Runs two models in ONNX Runtime on the same inputs and reports, per output, how close
// B is to A. Exit 0: every output within tol; 1: some output is not; 2: usage, load or
// run error (message on stderr).

const c = require('./common');

const USAGE = `usage: node ort_diff.js A.onnx B.onnx [--tol T] INPUTS [--labels]
  INPUTS (one of; default --random 0):
    --npy name=file.npy ...  feed these arrays (repeat --npy per input)
    --fmnist N               first N Fashion-MNIST test images, float32 [N,1,28,28] in [0,1]
    --random SEED            deterministic random inputs from the models' input metadata
                             (symbolic dimensions become --dim D, default 1)
    --pb DIR                 ONNX test_data_set directory with input_K.pb
  --tol T        max abs diff allowed per output (default 1e-5)
  --labels       with --fmnist: print each model's accuracy on the test labels
  --batch B      with --fmnist: images per run for dynamic-batch models (default 256)
exit: 0 all outputs within tol, 1 some output differs more, 2 usage/load/run error`;

function parseArgs(argv) {
  const o = { models: [], tol: 1e-5, labels: false, src: c.newInputSource() };
  for (let i = 0; i < argv.length;) {
    const a = argv[i];
    const used = c.takeInputOption(argv, i, o.src);
    if (used) { i += used; continue; }
    if (a === '--tol') {
      const v = Number(argv[i + 1]);
      if (argv[i + 1] === undefined || !Number.isFinite(v) || v < 0) throw new c.UsageError('--tol needs a number >= 0');
      o.tol = v; i += 2;
    } else if (a === '--labels') { o.labels = true; i++; }
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0); }
    else if (a.startsWith('--')) throw new c.UsageError(`unknown option ${a}`);
    else { o.models.push(a); i++; }
  }
  if (o.models.length !== 2) throw new c.UsageError('need exactly two models');
  if (c.checkInputSource(o.src, { allowNone: true }) === 0) o.src.random = 0;
  if (o.labels && !o.src.fmnist) throw new c.UsageError('--labels needs --fmnist N');
  return o;
}

// Pair outputs by name; fall back to position when B renamed them.
function pairOutputs(outA, outB, namesA, namesB) {
  const pairs = [];
  namesA.forEach((name, k) => {
    if (name in outB) pairs.push([name, name]);
    else if (k < namesB.length && !namesA.includes(namesB[k])) pairs.push([name, namesB[k]]);
    else pairs.push([name, null]);
  });
  return pairs;
}

function firstClassifierOutput(outputs, names) {
  for (const n of names) {
    const t = outputs[n];
    if (t && t.dims.length === 2 && t.dims[1] > 1 && t.type !== 'string') return n;
  }
  return null;
}

async function main() {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) {
    console.error(`ort_diff: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  const [pathA, pathB] = o.models;
  let sa, sb, ra, rb;
  try {
    sa = await c.createSession(pathA);
  } catch (e) { throw new Error(`cannot load ${pathA}: ${c.oneLine(e)}`); }
  try {
    sb = await c.createSession(pathB);
  } catch (e) { throw new Error(`cannot load ${pathB}: ${c.oneLine(e)}`); }
  try { ra = await c.runSource(sa, o.src); } catch (e) { throw new Error(`cannot run ${pathA}: ${c.oneLine(e)}`); }
  try { rb = await c.runSource(sb, o.src, { session: sa, feeds: ra.feeds }); } catch (e) {
    throw new Error(`cannot run ${pathB}: ${c.oneLine(e)}`);
  }

  const src = o.src.fmnist ? `fmnist ${o.src.fmnist}` : o.src.npy.length ? `npy ${o.src.npy.join(' ')}`
    : o.src.pbDir ? `pb ${o.src.pbDir}` : `random seed ${o.src.random}`;
  console.log(`A: ${pathA}\nB: ${pathB}\ninputs: ${src}   tol: ${o.tol}`);

  let worst = 0;
  let ok = true;
  for (const [na, nb] of pairOutputs(ra.outputs, rb.outputs, sa.outputNames, sb.outputNames)) {
    const ta = ra.outputs[na];
    const label = nb === na || nb === null ? `'${na}'` : `'${na}' vs '${nb}'`;
    if (nb === null) { console.log(`output ${label}: missing from B`); ok = false; continue; }
    const tb = rb.outputs[nb];
    const shape = `[${ta.dims.join(',')}] ${ta.type}`;
    if (ta.dims.join(',') !== tb.dims.join(',')) {
      console.log(`output ${label} ${shape}: shape differs in B: [${tb.dims.join(',')}] ${tb.type}`);
      ok = false; continue;
    }
    if (ta.type === 'string' || tb.type === 'string') {
      const same = ta.type === tb.type && ta.data.every((v, i) => v === tb.data[i]);
      console.log(`output ${label} ${shape}: strings ${same ? 'identical' : 'differ'}`);
      if (!same) ok = false;
      continue;
    }
    const st = c.closeness(ta, tb);
    let line = `output ${label} ${shape}${tb.type !== ta.type ? ` (B: ${tb.type})` : ''}: ` +
      `max abs diff ${c.fmt(st.maxAbs)}  max rel diff ${c.fmt(st.maxRel)}  cosine ${st.cos.toFixed(6)}`;
    if (st.nanMismatch) line += `  NaN mismatches ${st.nanMismatch}`;
    if (ta.dims.length === 2) {
      const am = c.argmaxRows(ta), bm = c.argmaxRows(tb);
      let agree = 0;
      for (let i = 0; i < am.length; i++) if (am[i] === bm[i]) agree++;
      line += `  argmax agreement ${agree}/${am.length} (${(am.length ? agree / am.length : 1).toFixed(4)})`;
    }
    console.log(line);
    if (!(st.maxAbs <= o.tol)) ok = false;
    if (st.maxAbs > worst || Number.isNaN(st.maxAbs)) worst = st.maxAbs;
  }

  if (o.labels) {
    const labels = c.fmnistLabels(o.src.fmnist);
    for (const [tag, r, s, p] of [['A', ra, sa, pathA], ['B', rb, sb, pathB]]) {
      const n = firstClassifierOutput(r.outputs, s.outputNames);
      if (!n) console.log(`accuracy ${tag}: n/a (no [N,classes] output) ${p}`);
      else console.log(`accuracy ${tag}: ${c.accuracy(r.outputs[n], labels).toFixed(4)}  (output '${n}', ${labels.length} images)`);
    }
  }
  if (ok) console.log(`PASS: max abs diff ${c.fmt(worst)} <= tol ${o.tol}`);
  else if (!(worst <= o.tol)) console.log(`FAIL: max abs diff ${c.fmt(worst)} > tol ${o.tol}`);
  else console.log('FAIL: outputs missing or with different shapes/values');
  c.releaseQuietly(sa);
  c.releaseQuietly(sb);
  return ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }).catch((e) => {
  console.error(`ort_diff: ${c.oneLine(e, 1000)}`);
  process.exitCode = 2;
});
