'use strict';
// Shared helpers for the interop tools: sessions, inputs, Fashion-MNIST, comparisons.

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const pb = require('./onnx_pb');

const ort = require('onnxruntime-node');
ort.env.logLevel = 'fatal';

const SESSION_OPTIONS = Object.freeze({
  graphOptimizationLevel: 'disabled',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  logSeverityLevel: 4,
});

const FMNIST_DIR = '/usr/share/datasets/fashion-mnist';

function oneLine(msg, max = 240) {
  let s = String(msg && msg.message !== undefined ? msg.message : msg).replace(/\s+/g, ' ').trim();
  if (s.length > max) s = s.slice(0, max - 3) + '...';
  return s;
}

// optimize: ONNX Runtime's full graph optimisations (its QDQ fusions into
// integer kernels), as a deployment runs the model; otherwise none, so that
// Q/DQ pairs run as written. saveTo: where ORT writes the graph it runs.
// threads: intra-op threads (default 1).
async function createSession(model, { optimize = false, saveTo = null, threads = 1 } = {}) {
  const opts = { ...SESSION_OPTIONS, intraOpNumThreads: threads };
  if (optimize) opts.graphOptimizationLevel = 'all';
  if (saveTo) opts.optimizedModelFilePath = saveTo;
  return ort.InferenceSession.create(model, opts);
}

// Operator counts of the main graph of an ONNX model file, sorted by name:
// [[op_type, count], ...] (ModelProto.graph = 7, GraphProto.node = 1,
// NodeProto.op_type = 4).
function graphOps(file) {
  const counts = new Map();
  const sub = (r, field, fn) => {
    for (const [f, wt] of r.fields()) {
      if (f === field && wt === 2) { const b = r.bytes(); fn(new pb.PbReader(b)); } else r.skip(wt);
    }
  };
  sub(new pb.PbReader(fs.readFileSync(file)), 7, (g) => sub(g, 1, (n) => {
    for (const [f, wt] of n.fields()) {
      if (f === 4 && wt === 2) {
        const op = Buffer.from(n.bytes()).toString('utf8');
        counts.set(op, (counts.get(op) || 0) + 1);
      } else n.skip(wt);
    }
  }));
  return [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function inputMeta(session) {
  const meta = session.inputMetadata;
  if (!Array.isArray(meta) || meta.length !== session.inputNames.length) return null;
  return meta;
}

function outputMeta(session) {
  const meta = session.outputMetadata;
  if (!Array.isArray(meta) || meta.length !== session.outputNames.length) return null;
  return meta;
}

// ---------------------------------------------------------------------------
// Inputs from an ONNX test_data_set directory

/** Sorted list of input_K.pb files (by K) in dir. */
function listInputPbs(dir) {
  return fs.readdirSync(dir)
    .map((f) => /^input_(\d+)\.pb$/.exec(f))
    .filter(Boolean)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => path.join(dir, m[0]));
}

/**
 * Build feeds for `session` from dir/input_K.pb. A tensor whose proto name matches a
 * session input goes there; others go to the K-th input name (or the next free one).
 * Throws pb.UnsupportedError for non-tensor inputs.
 */
function feedsFromPbDir(session, dir) {
  const files = listInputPbs(dir);
  const names = session.inputNames;
  const meta = inputMeta(session);
  if (meta) {
    for (const m of meta) {
      if (!m.isTensor) throw new pb.UnsupportedError(`unsupported input type (input '${m.name}' is not a tensor)`);
    }
  }
  const decoded = files.map((f) => pb.readTensorProtoFile(f));
  const feeds = {};
  const pending = [];
  decoded.forEach((d, k) => {
    if (d.name && names.includes(d.name) && !(d.name in feeds)) feeds[d.name] = d.tensor;
    else pending.push([k, d]);
  });
  for (const [k, d] of pending) {
    let name = names[k];
    if (name === undefined || name in feeds) name = names.find((n) => !(n in feeds));
    if (name === undefined) throw new Error(`${path.basename(files[k])}: more input files than model inputs (${names.length})`);
    feeds[name] = d.tensor;
  }
  return feeds;
}

// ---------------------------------------------------------------------------
// Fashion-MNIST (IDX files, gzipped)

function readIdx(file) {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new Error(`${file}: not an IDX file`);
  const type = buf[2];
  const rank = buf[3];
  if (type !== 0x08) throw new Error(`${file}: IDX element type 0x${type.toString(16)} is not uint8`);
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const off = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length < off + count) throw new Error(`${file}: truncated IDX data`);
  return { dims, data: buf.subarray(off, off + count) };
}

/** First n test images as Float32Array [n*784] in [0,1]. */
function fmnistImages(n, dir = FMNIST_DIR) {
  const idx = readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz'));
  if (idx.dims.length !== 3 || idx.dims[1] !== 28 || idx.dims[2] !== 28) throw new Error('unexpected Fashion-MNIST image shape');
  if (!Number.isInteger(n) || n < 1 || n > idx.dims[0]) throw new Error(`--fmnist N must be in 1..${idx.dims[0]}`);
  const out = new Float32Array(n * 784);
  for (let i = 0; i < out.length; i++) out[i] = idx.data[i] / 255;
  return out;
}

function fmnistLabels(n, dir = FMNIST_DIR) {
  const idx = readIdx(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
  if (n > idx.dims[0]) throw new Error(`only ${idx.dims[0]} labels`);
  return idx.data.subarray(0, n);
}

/**
 * Work out how to feed N Fashion-MNIST images to the session's single input.
 * Returns { name, sampleShape (without batch), batch (images per run), fixed (the model
 * input has a fixed batch dimension: the last run is padded with zero images) }.
 */
function fmnistPlan(session, n, maxBatch) {
  if (session.inputNames.length !== 1) {
    throw new Error(`--fmnist needs a model with exactly one input, this one has ${session.inputNames.length}: ${session.inputNames.join(', ')}`);
  }
  const name = session.inputNames[0];
  const meta = inputMeta(session);
  let sampleShape = [1, 28, 28];
  let batch = maxBatch;
  let fixed = false;
  if (meta && meta[0]) {
    const m = meta[0];
    if (!m.isTensor) throw new Error(`input '${name}' is not a tensor`);
    if (m.type && m.type !== 'float32') throw new Error(`input '${name}' has type ${m.type}, --fmnist feeds float32`);
    const shape = m.shape || [];
    const rest = shape.slice(1);
    const restNumeric = rest.every((d) => typeof d === 'number' && d > 0);
    const restCount = restNumeric ? rest.reduce((a, b) => a * b, 1) : -1;
    if (shape.length >= 2 && restCount === 784) sampleShape = rest;
    else if (shape.length === 4) sampleShape = [1, 28, 28];
    else throw new Error(`input '${name}' has shape [${shape.join(',')}]; --fmnist feeds [N,1,28,28] (or [N,784])`);
    if (typeof shape[0] === 'number' && shape[0] > 0) { batch = shape[0]; fixed = true; }
  }
  if (!fixed && batch > n) batch = n;
  return { name, sampleShape, batch, fixed };
}

// ---------------------------------------------------------------------------
// Running with batches and concatenating outputs along axis 0

async function runFeeds(session, feeds) {
  return session.run(feeds);
}

function concatTensors(list) {
  if (list.length === 1) return list[0];
  const first = list[0];
  const rest = first.dims.slice(1);
  let n0 = 0;
  for (const t of list) {
    if (t.type !== first.type || t.dims.length !== first.dims.length || t.dims.slice(1).join() !== rest.join()) {
      throw new Error('cannot concatenate batched outputs of different shapes; use a model with a dynamic batch');
    }
    n0 += t.dims[0];
  }
  let data;
  if (first.type === 'string') data = [].concat(...list.map((t) => t.data));
  else {
    data = new first.data.constructor(list.reduce((a, t) => a + t.data.length, 0));
    let off = 0;
    for (const t of list) { data.set(t.data, off); off += t.data.length; }
  }
  return new ort.Tensor(first.type, data, [n0, ...rest]);
}

function sliceRows(t, n) {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  return new ort.Tensor(t.type, t.data.slice(0, n * per), [n, ...t.dims.slice(1)]);
}

/** Run the session over N fmnist images in batches; returns {outputName: Tensor}. */
async function runFmnist(session, images, n, maxBatch = 256) {
  const plan = fmnistPlan(session, n, maxBatch);
  const per = 784;
  const parts = {};
  let padded = 0;
  for (let s = 0; s < n; s += plan.batch) {
    const b = plan.fixed ? plan.batch : Math.min(plan.batch, n - s);
    const data = new Float32Array(b * per);
    data.set(images.subarray(s * per, Math.min(s + b, n) * per));
    padded = s + b;
    const t = new ort.Tensor('float32', data, [b, ...plan.sampleShape]);
    const out = await session.run({ [plan.name]: t });
    for (const k of Object.keys(out)) (parts[k] = parts[k] || []).push(out[k]);
  }
  const res = {};
  for (const k of Object.keys(parts)) {
    const t = concatTensors(parts[k]);
    res[k] = padded > n && t.dims[0] === padded ? sliceRows(t, n) : t;
  }
  return res;
}

// ---------------------------------------------------------------------------
// Deterministic random inputs from session metadata

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function f32ToF16Bits(v) {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  let exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) return sign; // flush tiny values to zero (fine for random data)
  if (exp >= 31) return sign | 0x7c00;
  // round to nearest even
  let h = sign | (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return h;
}

/** Random feeds for every input, using session metadata (symbolic dims → dimDefault). */
function randomFeeds(session, seed, dimDefault = 1) {
  const meta = inputMeta(session);
  if (!meta || meta.some((m) => !m || !m.shape || !m.type)) {
    throw new Error('--random needs input metadata (types and shapes), which this ONNX Runtime does not report for this model');
  }
  const rnd = mulberry32(seed);
  const normal = () => {
    const u = Math.max(rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const feeds = {};
  for (const m of meta) {
    if (!m.isTensor) throw new Error(`input '${m.name}' is not a tensor; --random cannot feed it`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : dimDefault));
    const n = dims.reduce((a, b) => a * b, 1);
    let data;
    switch (m.type) {
      case 'float32': data = Float32Array.from({ length: n }, normal); break;
      case 'float64': data = Float64Array.from({ length: n }, normal); break;
      case 'float16': data = Uint16Array.from({ length: n }, () => f32ToF16Bits(normal())); break;
      case 'int8': data = Int8Array.from({ length: n }, () => Math.floor(rnd() * 256) - 128); break;
      case 'uint8': data = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256)); break;
      case 'int16': data = Int16Array.from({ length: n }, () => Math.floor(rnd() * 16) - 8); break;
      case 'uint16': data = Uint16Array.from({ length: n }, () => Math.floor(rnd() * 16)); break;
      case 'int32': data = Int32Array.from({ length: n }, () => Math.floor(rnd() * 4)); break;
      case 'uint32': data = Uint32Array.from({ length: n }, () => Math.floor(rnd() * 4)); break;
      case 'int64': data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 4))); break;
      case 'uint64': data = BigUint64Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 4))); break;
      case 'bool': data = Uint8Array.from({ length: n }, () => (rnd() < 0.5 ? 1 : 0)); break;
      case 'string': data = Array.from({ length: n }, () => `s${Math.floor(rnd() * 100)}`); break;
      default: throw new Error(`input '${m.name}': --random cannot make ${m.type} data`);
    }
    feeds[m.name] = new ort.Tensor(m.type, data, dims);
  }
  return feeds;
}

/** Parse name=file.npy specs into feeds. */
function npyFeeds(specs) {
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--npy expects name=file.npy, got '${spec}'`);
    feeds[spec.slice(0, eq)] = pb.readNpy(spec.slice(eq + 1)).tensor;
  }
  return feeds;
}

// ---------------------------------------------------------------------------
// Numeric helpers

function f16BitsToNumber(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Tensor data as an array-like of JS numbers (float16 decoded, bigint converted). */
function asNumbers(t) {
  const d = t.data;
  if (t.type === 'float16' && d instanceof Uint16Array) return Float64Array.from(d, f16BitsToNumber);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, (v) => Number(v));
  return d;
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

function isNaNBits(type, data, i) {
  if (type === 'float16') return ((data[i] & 0x7c00) === 0x7c00) && (data[i] & 0x3ff) !== 0;
  return Number.isNaN(data[i]);
}

/**
 * Bit-for-bit comparison of two output tensors (NaN == NaN).
 * Returns null when identical, else a reason string.
 */
function bitDiff(a, b) {
  if (a.type !== b.type) return `type ${a.type} vs ${b.type}`;
  if (a.dims.join(',') !== b.dims.join(',')) return `shape [${a.dims}] vs [${b.dims}]`;
  if (a.type === 'string') {
    for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return `string at ${i}: ${JSON.stringify(a.data[i])} vs ${JSON.stringify(b.data[i])}`;
    return null;
  }
  const ab = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const bb = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  if (ab.equals(bb)) return null;
  let maxAbs = 0;
  let count = 0;
  const fl = FLOAT_TYPES.has(a.type);
  const an = asNumbers(a), bn = asNumbers(b);
  for (let i = 0; i < a.data.length; i++) {
    // Object.is: -0 and +0 differ, any NaN equals any NaN; integers compare exactly
    if (Object.is(a.data[i], b.data[i])) continue;
    if (fl && isNaNBits(a.type, a.data, i) && isNaNBits(b.type, b.data, i)) continue;
    count++;
    const dlt = Math.abs(an[i] - bn[i]);
    if (Number.isNaN(dlt)) maxAbs = NaN;
    else if (!Number.isNaN(maxAbs) && dlt > maxAbs) maxAbs = dlt;
  }
  if (count === 0) return null;
  return `max abs diff ${fmt(maxAbs)} (${count}/${a.data.length} elements differ)`;
}

function fmt(x) {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? x.toPrecision(6).replace(/\.?0+$/, '') : x.toExponential(3);
}

/** Numeric closeness statistics between two tensors of the same shape. */
function closeness(a, b) {
  const an = asNumbers(a), bn = asNumbers(b);
  let maxAbs = 0, maxRel = 0, dot = 0, na = 0, nb = 0, nanMismatch = 0;
  for (let i = 0; i < an.length; i++) {
    const x = Number(an[i]), y = Number(bn[i]);
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) nanMismatch++;
      continue;
    }
    if (x === y) { dot += x * y; na += x * x; nb += y * y; continue; }
    const d = Math.abs(x - y);
    if (d > maxAbs || Number.isNaN(d)) maxAbs = d;
    const rel = d / Math.max(Math.abs(x), Math.abs(y), 1e-12);
    if (rel > maxRel) maxRel = rel;
    dot += x * y; na += x * x; nb += y * y;
  }
  if (nanMismatch) maxAbs = Infinity;
  let cos;
  if (na === 0 && nb === 0) cos = 1;
  else if (na === 0 || nb === 0) cos = 0;
  else cos = dot / Math.sqrt(na * nb);
  return { maxAbs, maxRel, cos, nanMismatch };
}

/** Row-wise argmax for a 2-D tensor. */
function argmaxRows(t) {
  const [rows, cols] = t.dims;
  const d = asNumbers(t);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0, bv = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = Number(d[r * cols + c]);
      if (v > bv) { bv = v; best = c; }
    }
    out[r] = best;
  }
  return out;
}

function accuracy(t, labels) {
  if (t.dims.length !== 2) throw new Error(`accuracy needs a 2-D [N, classes] output, got [${t.dims}]`);
  const am = argmaxRows(t);
  let ok = 0;
  for (let i = 0; i < am.length; i++) if (am[i] === labels[i]) ok++;
  return ok / am.length;
}

/**
 * Feeds made for a session with inputs namesO, adapted to one with inputs namesN: same
 * names are kept; an input renamed in the second model gets the value of the input at
 * the same position; inputs the second model does not have are dropped.
 */
function remapFeeds(feeds, namesO, namesN) {
  const out = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (namesN.includes(name)) out[name] = t;
    else {
      const k = namesO.indexOf(name);
      if (k >= 0 && k < namesN.length && !namesO.includes(namesN[k])) out[namesN[k]] = t;
    }
  }
  return out;
}

function releaseQuietly(s) {
  if (s && typeof s.release === 'function') {
    try { const p = s.release(); if (p && p.catch) p.catch(() => {}); } catch (_) { /* ignore */ }
  }
}

module.exports = {
  ort, pb, SESSION_OPTIONS, FMNIST_DIR, oneLine, createSession, graphOps, inputMeta, outputMeta,
  listInputPbs, feedsFromPbDir, readIdx, fmnistImages, fmnistLabels, fmnistPlan, runFeeds,
  runFmnist, concatTensors, randomFeeds, npyFeeds, mulberry32, asNumbers, bitDiff,
  closeness, argmaxRows, accuracy, fmt, releaseQuietly, remapFeeds, f16BitsToNumber,
};

// ---------------------------------------------------------------------------
// Input-source options shared by ort_diff.js and ort_run.js

/**
 * Consume an input-source option at argv[i]. Returns the number of argv entries used
 * (0 if argv[i] is not an input option). Fills src: { npy:[], fmnist, random, pbDir, batch }.
 */
function takeInputOption(argv, i, src) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
    return argv[i + 1];
  };
  const int = (s, what, min) => {
    if (!/^\d+$/.test(s) || Number(s) < min) throw new UsageError(`${what} must be an integer >= ${min}, got '${s}'`);
    return Number(s);
  };
  switch (a) {
    case '--npy': src.npy.push(val()); return 2;
    case '--fmnist': src.fmnist = int(val(), '--fmnist N', 1); return 2;
    case '--random': src.random = int(val(), '--random SEED', 0); return 2;
    case '--pb': src.pbDir = val(); return 2;
    case '--batch': src.batch = int(val(), '--batch', 1); return 2;
    case '--dim': src.dimDefault = int(val(), '--dim', 1); return 2;
    default: return 0;
  }
}

function newInputSource() {
  return { npy: [], fmnist: 0, random: null, pbDir: null, batch: 256, dimDefault: 1 };
}

function checkInputSource(src, { allowNone }) {
  const n = (src.npy.length ? 1 : 0) + (src.fmnist ? 1 : 0) + (src.random !== null ? 1 : 0) + (src.pbDir ? 1 : 0);
  if (n > 1) throw new UsageError('give only one input source: --npy, --fmnist, --random or --pb');
  if (n === 0 && !allowNone) throw new UsageError('no input source: give --npy name=file.npy, --fmnist N, --random SEED or --pb DIR');
  return n;
}

/**
 * Run a session on the input source. Returns { outputs, feeds } (feeds undefined for
 * fmnist, which runs in batches). `ref` = { session, feeds } lets a second model get the
 * same feeds (remapped by position if it renamed its inputs).
 */
async function runSource(session, src, ref) {
  if (src.fmnist) {
    if (!src._images) src._images = fmnistImages(src.fmnist);
    return { outputs: await runFmnist(session, src._images, src.fmnist, src.batch) };
  }
  let feeds;
  if (ref && ref.feeds) feeds = remapFeeds(ref.feeds, ref.session.inputNames, session.inputNames);
  else if (src.npy.length) feeds = npyFeeds(src.npy);
  else if (src.pbDir) feeds = feedsFromPbDir(session, src.pbDir);
  else feeds = randomFeeds(session, src.random === null ? 0 : src.random, src.dimDefault);
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`no value for input(s): ${missing.join(', ')} (model inputs: ${session.inputNames.join(', ')})`);
  return { outputs: await session.run(feeds), feeds };
}

class UsageError extends Error {}

Object.assign(module.exports, { takeInputOption, newInputSource, checkInputSource, runSource, UsageError });
