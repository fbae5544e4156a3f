#!/usr/bin/env node
'use strict';
// ort_roundtrip.js [-v] MANIFEST
// MANIFEST: TSV lines "orig_model<TAB>new_model<TAB>test_data_dir" (blank lines and
// lines starting with '#' are ignored). Runs both models in ONNX Runtime on the inputs
// of test_data_dir/input_*.pb and compares every output bit for bit.

const fs = require('fs');
const c = require('./common');

const USAGE = 'usage: node ort_roundtrip.js [-v] [--timing] MANIFEST\n' +
  '  MANIFEST lines: orig_model<TAB>new_model<TAB>test_data_dir';

function parseArgs(argv) {
  const o = { verbose: false, timing: false, manifest: null };
  for (const a of argv) {
    if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a === '--timing') o.timing = true;
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0); }
    else if (a.startsWith('-')) { console.error(`unknown option ${a}\n${USAGE}`); process.exit(2); }
    else if (o.manifest === null) o.manifest = a;
    else { console.error(USAGE); process.exit(2); }
  }
  if (!o.manifest) { console.error(USAGE); process.exit(2); }
  return o;
}

function readManifest(file) {
  const rows = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim() || line.startsWith('#')) return;
    const f = line.replace(/\r$/, '').split('\t');
    if (f.length < 3) throw new Error(`${file}:${i + 1}: expected 3 tab-separated fields`);
    rows.push({ orig: f[0], neu: f[1], data: f[2], line: i + 1 });
  });
  return rows;
}

// Returns { kind: 'same'|'differ'|'orig-fails'|'new-fails', detail }
async function checkOne(row) {
  let so = null, sn = null;
  try {
    let feeds, outO;
    try {
      so = await c.createSession(row.orig);
      feeds = c.feedsFromPbDir(so, row.data);
      outO = await so.run(feeds);
    } catch (e) {
      const msg = e instanceof c.pb.UnsupportedError && /unsupported input type/.test(e.message)
        ? e.message : c.oneLine(e);
      return { kind: 'orig-fails', detail: msg };
    }
    let outN;
    try {
      sn = await c.createSession(row.neu);
      outN = await sn.run(c.remapFeeds(feeds, so.inputNames, sn.inputNames));
    } catch (e) {
      return { kind: 'new-fails', detail: c.oneLine(e) };
    }
    const namesO = Object.keys(outO);
    const namesN = new Set(Object.keys(outN));
    for (const name of namesO) {
      if (!namesN.has(name)) return { kind: 'new-fails', detail: `output '${name}' missing from new model` };
    }
    for (const name of namesO) {
      const d = c.bitDiff(outO[name], outN[name]);
      if (d) return { kind: 'differ', detail: `output '${name}': ${d}` };
    }
    return { kind: 'same', detail: '' };
  } catch (e) {
    // anything unexpected (e.g. comparing exotic outputs) is attributed to the new model
    return { kind: 'new-fails', detail: `internal: ${c.oneLine(e)}` };
  } finally {
    c.releaseQuietly(so);
    c.releaseQuietly(sn);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let rows;
  try { rows = readManifest(o.manifest); } catch (e) { console.error(c.oneLine(e)); process.exit(2); }
  const counts = { same: 0, differ: 0, 'new-fails': 0, 'orig-fails': 0 };
  const t0 = Date.now();
  for (const row of rows) {
    const t1 = Date.now();
    const r = await checkOne(row);
    counts[r.kind]++;
    if (r.kind === 'differ' || r.kind === 'new-fails' || (o.verbose && r.kind === 'orig-fails')) {
      console.log(`${r.kind}\t${row.neu}\t${r.detail}`);
    }
    if (o.timing) console.error(`${Date.now() - t1} ms\t${row.orig}`);
  }
  const n = rows.length;
  const runs = counts.same + counts.differ + counts['new-fails'];
  console.log(`models: ${n}  ort-runs-original: ${runs}  identical: ${counts.same}  ` +
    `differ: ${counts.differ}  new-fails: ${counts['new-fails']}  orig-fails: ${counts['orig-fails']}`);
  console.log(`time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exitCode = counts.differ + counts['new-fails'] > 0 ? 1 : 0;
}

process.on('unhandledRejection', (e) => { console.error(`unhandled: ${c.oneLine(e)}`); });
main().catch((e) => { console.error(c.oneLine(e)); process.exit(2); });
