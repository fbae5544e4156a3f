#!/usr/bin/env node
'use strict';
// ort_run.js MODEL INPUTS [-o OUTDIR] [--accuracy] [--optimize] [--ops]
// Runs one model in ONNX Runtime and writes every output as OUTDIR/<output>.npy.
// Exit 0 ok, 2 usage/load/run error.

const fs = require('fs');
const path = require('path');
const c = require('./common');

const USAGE = `usage: node ort_run.js MODEL INPUTS [-o OUTDIR] [--accuracy] [--optimize] [--ops]
  INPUTS (one of; none needed with --ops alone):
    --npy name=file.npy ...  feed these arrays (repeat --npy per input)
    --fmnist N               first N Fashion-MNIST test images, float32 [N,1,28,28] in [0,1]
    --random SEED            deterministic random inputs from the model's input metadata
    --pb DIR                 ONNX test_data_set directory with input_K.pb
  -o OUTDIR      write each output as OUTDIR/<output name>.npy (characters outside
                 [A-Za-z0-9._-] in the name become '_')
  --accuracy     with --fmnist: print 'accuracy: 0.xxxx' against the test labels
  --batch B      with --fmnist: images per run for dynamic-batch models (default 256)
  --optimize     run with ORT's full graph optimisations (its QDQ fusions into integer
                 kernels such as QLinearConv and QGemm), as a deployment would; by
                 default none, so Q/DQ pairs run as written
  --ops          print the operators of the graph ORT runs: 'ops: Op=count ...'
                 (with --optimize, after its fusions)
exit: 0 ok, 2 usage/load/run error`;

function parseArgs(argv) {
  const o = { model: null, outDir: null, accuracy: false, optimize: false, ops: false,
    src: c.newInputSource() };
  for (let i = 0; i < argv.length;) {
    const a = argv[i];
    const used = c.takeInputOption(argv, i, o.src);
    if (used) { i += used; continue; }
    if (a === '-o' || a === '--out') {
      if (argv[i + 1] === undefined) throw new c.UsageError(`${a} needs a directory`);
      o.outDir = argv[i + 1]; i += 2;
    } else if (a === '--accuracy') { o.accuracy = true; i++; }
    else if (a === '--optimize') { o.optimize = true; i++; }
    else if (a === '--ops') { o.ops = true; i++; }
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0); }
    else if (a.startsWith('-')) throw new c.UsageError(`unknown option ${a}`);
    else if (o.model === null) { o.model = a; i++; }
    else throw new c.UsageError(`unexpected argument '${a}'`);
  }
  if (!o.model) throw new c.UsageError('no model given');
  c.checkInputSource(o.src, { allowNone: o.ops && !o.outDir && !o.accuracy });
  if (o.accuracy && !o.src.fmnist) throw new c.UsageError('--accuracy needs --fmnist N');
  if (!o.outDir && !o.accuracy && !o.ops) throw new c.UsageError('nothing to do: give -o OUTDIR, --accuracy and/or --ops');
  return o;
}

function safeName(n) {
  const s = n.replace(/[^A-Za-z0-9._-]/g, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

async function main() {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) {
    console.error(`ort_run: ${e.message}\n${USAGE}`);
    return 2;
  }
  let s, tmp = null;
  if (o.ops) tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'ort_run_'));
  const saveTo = tmp && path.join(tmp, 'optimized.onnx');
  try { s = await c.createSession(o.model, { optimize: o.optimize, saveTo }); } catch (e) { throw new Error(`cannot load ${o.model}: ${c.oneLine(e)}`); }
  if (tmp) {
    const ops = c.graphOps(saveTo);
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`ops: ${ops.map(([op, n]) => `${op}=${n}`).join(' ')}`);
  }
  if (!o.outDir && !o.accuracy) { c.releaseQuietly(s); return 0; }
  let r;
  try { r = await c.runSource(s, o.src); } catch (e) { throw new Error(`cannot run ${o.model}: ${c.oneLine(e)}`); }
  if (o.outDir) {
    fs.mkdirSync(o.outDir, { recursive: true });
    const seen = new Set();
    for (const name of s.outputNames) {
      const t = r.outputs[name];
      let file = safeName(name);
      while (seen.has(file)) file += '_';
      seen.add(file);
      const p = path.join(o.outDir, `${file}.npy`);
      if (!(t.type in c.pb.NPY_OF_ORT)) { console.error(`ort_run: skipping ${t.type} output '${name}' (not written as .npy)`); continue; }
      c.pb.writeNpy(p, t);
      console.log(`${p}\t[${t.dims.join(',')}] ${t.type}`);
    }
  }
  if (o.accuracy) {
    const labels = c.fmnistLabels(o.src.fmnist);
    const name = s.outputNames.find((n) => r.outputs[n].dims.length === 2 && r.outputs[n].dims[1] > 1);
    if (!name) throw new Error('no [N, classes] output to score');
    console.log(`accuracy: ${c.accuracy(r.outputs[name], labels).toFixed(4)}`);
  }
  c.releaseQuietly(s);
  return 0;
}

main().then((code) => { process.exitCode = code; }).catch((e) => {
  console.error(`ort_run: ${c.oneLine(e, 1000)}`);
  process.exitCode = 2;
});
