'use strict';
// Minimal readers for test data used by the interop tools:
//   * ONNX TensorProto files (protobuf wire format, decoded by hand);
//   * NumPy .npy files (read and write, C order, little-endian).
// Both produce/consume onnxruntime-node `ort.Tensor`s.
// No dependencies beyond onnxruntime-node (and only for the Tensor class).

const fs = require('fs');
const path = require('path');

let ortCache = null;
function ort() {
  if (!ortCache) ortCache = require('onnxruntime-node');
  return ortCache;
}

// ---------------------------------------------------------------------------
// ONNX data types (TensorProto.DataType)

const DT = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7,
  STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14,
  COMPLEX128: 15, BFLOAT16: 16, FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23,
};
const DT_NAME = Object.fromEntries(Object.entries(DT).map(([k, v]) => [v, k.toLowerCase()]));

// ONNX data type -> [ort tensor type, typed array constructor, element byte size]
// (int4/uint4 are packed two per byte; handled separately)
const ORT_OF_DT = {
  [DT.FLOAT]: ['float32', Float32Array, 4],
  [DT.DOUBLE]: ['float64', Float64Array, 8],
  [DT.FLOAT16]: ['float16', Uint16Array, 2],
  [DT.INT8]: ['int8', Int8Array, 1],
  [DT.UINT8]: ['uint8', Uint8Array, 1],
  [DT.INT16]: ['int16', Int16Array, 2],
  [DT.UINT16]: ['uint16', Uint16Array, 2],
  [DT.INT32]: ['int32', Int32Array, 4],
  [DT.INT64]: ['int64', BigInt64Array, 8],
  [DT.UINT32]: ['uint32', Uint32Array, 4],
  [DT.UINT64]: ['uint64', BigUint64Array, 8],
  [DT.BOOL]: ['bool', Uint8Array, 1],
  [DT.STRING]: ['string', null, 0],
  [DT.INT4]: ['int4', Uint8Array, 0.5],
  [DT.UINT4]: ['uint4', Uint8Array, 0.5],
};

class UnsupportedError extends Error {}

// ---------------------------------------------------------------------------
// Protobuf wire-format reader

class PbReader {
  constructor(buf, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  eof() { return this.pos >= this.end; }
  // Varint as a JS number (exact up to 2^53); for tags and lengths.
  varint() {
    let result = 0, mul = 1, b;
    do {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return result;
  }
  // Varint as two uint32 halves [lo, hi].
  varint64() {
    let lo = 0, hi = 0, shift = 0, b;
    do {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      b = this.buf[this.pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) { lo |= (b & 0x0f) << 28; hi |= (b & 0x70) >>> 4; }
      else if (shift < 64) hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
    } while (b & 0x80);
    return [lo >>> 0, hi >>> 0];
  }
  int64() { const [lo, hi] = this.varint64(); return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)); }
  uint64() { const [lo, hi] = this.varint64(); return (BigInt(hi) << 32n) | BigInt(lo); }
  int32() { return this.varint64()[0] | 0; }
  bytes() {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('protobuf: truncated length-delimited field');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  fixed32buf() { const s = this.buf.subarray(this.pos, this.pos + 4); this.pos += 4; return s; }
  fixed64buf() { const s = this.buf.subarray(this.pos, this.pos + 8); this.pos += 8; return s; }
  skip(wt) {
    switch (wt) {
      case 0: this.varint64(); break;
      case 1: this.pos += 8; break;
      case 2: { const n = this.varint(); this.pos += n; break; }
      case 5: this.pos += 4; break;
      default: throw new Error(`protobuf: unsupported wire type ${wt}`);
    }
    if (this.pos > this.end) throw new Error('protobuf: truncated field');
  }
  // Iterate fields: yields [fieldNumber, wireType]; caller must consume the value.
  *fields() {
    while (this.pos < this.end) {
      const tag = this.varint();
      yield [Math.floor(tag / 8), tag & 7];
    }
  }
}

// Read a repeated varint field that may be packed (wt 2) or not (wt 0).
function readRepeatedVarint(r, wt, out, fn) {
  if (wt === 2) {
    const sub = new PbReader(r.bytes());
    while (!sub.eof()) out.push(fn(sub));
  } else if (wt === 0) {
    out.push(fn(r));
  } else {
    r.skip(wt);
  }
}

// Read a repeated fixed-size field (packed wt 2, or single wt 1/5). Returns chunks of bytes.
function readRepeatedFixed(r, wt, size, chunks) {
  if (wt === 2) chunks.push(r.bytes());
  else if (wt === 5 && size === 4) chunks.push(r.fixed32buf());
  else if (wt === 1 && size === 8) chunks.push(r.fixed64buf());
  else r.skip(wt);
}

function concatChunks(chunks) {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

// Copy bytes into a fresh, aligned typed array.
function typedFromBytes(Ctor, bytes, count) {
  const size = Ctor.BYTES_PER_ELEMENT;
  const need = count * size;
  if (bytes.length < need) throw new Error(`tensor data too short: ${bytes.length} bytes for ${count} elements of ${size}`);
  const u8 = new Uint8Array(need);
  u8.set(bytes.subarray(0, need));
  return new Ctor(u8.buffer, 0, count);
}

/**
 * Decode a serialized TensorProto into a plain object:
 * { name, dims:number[], dataType, rawData, floatData, int32Data, int64Data,
 *   doubleData, uint64Data, stringData, dataLocation, externalData }
 */
function decodeTensorProtoFields(buf) {
  const r = new PbReader(buf);
  const t = {
    name: '', dims: [], dataType: 0, rawData: null, floatChunks: [], int32Data: [],
    int64Data: [], doubleChunks: [], uint64Data: [], stringData: [], dataLocation: 0,
    externalData: {}, hasSegment: false,
  };
  for (const [fn, wt] of r.fields()) {
    switch (fn) {
      case 1: readRepeatedVarint(r, wt, t.dims, (s) => Number(s.int64())); break;
      case 2: if (wt === 0) t.dataType = r.varint(); else r.skip(wt); break;
      case 3: t.hasSegment = true; r.skip(wt); break;
      case 4: readRepeatedFixed(r, wt, 4, t.floatChunks); break;
      case 5: readRepeatedVarint(r, wt, t.int32Data, (s) => s.int32()); break;
      case 6: if (wt === 2) t.stringData.push(r.bytes()); else r.skip(wt); break;
      case 7: readRepeatedVarint(r, wt, t.int64Data, (s) => s.int64()); break;
      case 8: if (wt === 2) t.name = r.bytes().toString('utf8'); else r.skip(wt); break;
      case 9: if (wt === 2) t.rawData = r.bytes(); else r.skip(wt); break;
      case 10: readRepeatedFixed(r, wt, 8, t.doubleChunks); break;
      case 11: readRepeatedVarint(r, wt, t.uint64Data, (s) => s.uint64()); break;
      case 13: {
        if (wt !== 2) { r.skip(wt); break; }
        const e = new PbReader(r.bytes());
        let key = '', value = '';
        for (const [efn, ewt] of e.fields()) {
          if (efn === 1 && ewt === 2) key = e.bytes().toString('utf8');
          else if (efn === 2 && ewt === 2) value = e.bytes().toString('utf8');
          else e.skip(ewt);
        }
        t.externalData[key] = value;
        break;
      }
      case 14: if (wt === 0) t.dataLocation = r.varint(); else r.skip(wt); break;
      default: r.skip(wt);
    }
  }
  return t;
}

/**
 * Decode a serialized TensorProto (Buffer) into { name, tensor: ort.Tensor }.
 * opts.baseDir resolves external data locations.
 * Throws UnsupportedError for data types that ort.Tensor cannot hold.
 */
function decodeTensorProto(buf, opts = {}) {
  const t = decodeTensorProtoFields(buf);
  const mapping = ORT_OF_DT[t.dataType];
  if (!mapping) {
    throw new UnsupportedError(`unsupported tensor data type ${DT_NAME[t.dataType] || t.dataType}` +
      (t.name ? ` (tensor '${t.name}')` : ''));
  }
  if (t.hasSegment) throw new UnsupportedError('segmented TensorProto is not supported');
  const [type, Ctor] = mapping;
  const dims = t.dims;
  const count = dims.reduce((a, b) => a * b, 1);

  let raw = t.rawData;
  if (t.dataLocation === 1) {
    const loc = t.externalData.location;
    if (!loc) throw new Error('external data without location');
    const file = path.resolve(opts.baseDir || '.', loc);
    const offset = Number(t.externalData.offset || 0);
    const whole = fs.readFileSync(file);
    const length = t.externalData.length !== undefined ? Number(t.externalData.length) : whole.length - offset;
    raw = whole.subarray(offset, offset + length);
  }

  let data;
  if (type === 'string') {
    if (t.stringData.length !== count) throw new Error(`string tensor has ${t.stringData.length} values, shape needs ${count}`);
    data = t.stringData.map((b) => b.toString('utf8'));
  } else if (type === 'int4' || type === 'uint4') {
    const nbytes = Math.ceil(count / 2);
    if (raw) {
      data = new Uint8Array(nbytes);
      data.set(raw.subarray(0, nbytes));
    } else {
      // int32_data holds one packed byte (two 4-bit values) per entry
      data = Uint8Array.from(t.int32Data.slice(0, nbytes), (v) => v & 0xff);
    }
  } else if (raw) {
    data = typedFromBytes(Ctor, raw, count);
  } else {
    data = new Ctor(count);
    let src;
    switch (t.dataType) {
      case DT.FLOAT: {
        const b = concatChunks(t.floatChunks);
        data = typedFromBytes(Float32Array, b, Math.min(count, b.length >> 2));
        if (data.length !== count) throw new Error(`float_data has ${data.length} values, shape needs ${count}`);
        return { name: t.name, dims, dataType: t.dataType, tensor: new (ort().Tensor)(type, data, dims) };
      }
      case DT.DOUBLE: {
        const b = concatChunks(t.doubleChunks);
        data = typedFromBytes(Float64Array, b, Math.min(count, b.length >> 3));
        if (data.length !== count) throw new Error(`double_data has ${data.length} values, shape needs ${count}`);
        return { name: t.name, dims, dataType: t.dataType, tensor: new (ort().Tensor)(type, data, dims) };
      }
      case DT.INT64: src = t.int64Data; break;
      case DT.UINT32: src = t.uint64Data.map((v) => Number(v & 0xffffffffn)); break;
      case DT.UINT64: src = t.uint64Data; break;
      default: src = t.int32Data; // int8/uint8/int16/uint16/int32/bool/float16 bits
    }
    if (src.length !== count) {
      throw new Error(`typed data has ${src.length} values, shape ${JSON.stringify(dims)} needs ${count}`);
    }
    if (t.dataType === DT.BOOL) for (let i = 0; i < count; i++) data[i] = src[i] ? 1 : 0;
    else data.set(src);
  }
  return { name: t.name, dims, dataType: t.dataType, tensor: new (ort().Tensor)(type, data, dims) };
}

function readTensorProtoFile(file) {
  return decodeTensorProto(fs.readFileSync(file), { baseDir: path.dirname(file) });
}

// ---------------------------------------------------------------------------
// NumPy .npy

const NPY_OF_ORT = {
  float32: '<f4', float64: '<f8', float16: '<f2', int8: '|i1', uint8: '|u1', int16: '<i2',
  uint16: '<u2', int32: '<i4', int64: '<i8', uint32: '<u4', uint64: '<u8', bool: '|b1',
};
const ORT_OF_NPY = {
  f4: ['float32', Float32Array], f8: ['float64', Float64Array], f2: ['float16', Uint16Array],
  i1: ['int8', Int8Array], u1: ['uint8', Uint8Array], i2: ['int16', Int16Array],
  u2: ['uint16', Uint16Array], i4: ['int32', Int32Array], i8: ['int64', BigInt64Array],
  u4: ['uint32', Uint32Array], u8: ['uint64', BigUint64Array], b1: ['bool', Uint8Array],
};

function parseNpyHeader(h) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(h);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(h);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(h);
  if (!descr || !fortran || !shape) throw new Error(`npy: cannot parse header: ${h.trim()}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) throw new Error(`npy: bad dimension '${s}'`);
    return n;
  });
  return { descr: descr[1], fortran: fortran[1] === 'True', dims };
}

/** Read a .npy buffer into { dims, type, tensor }. */
function decodeNpy(buf, what = 'npy') {
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(`${what}: not a .npy file (bad magic)`);
  }
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); hstart = 12; }
  else throw new Error(`${what}: unsupported .npy version ${major}`);
  const hdr = parseNpyHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen));
  if (hdr.fortran) throw new Error(`${what}: Fortran-order arrays are not supported (save with C order)`);
  const order = hdr.descr[0];
  const code = hdr.descr.slice(1);
  const m = ORT_OF_NPY[code];
  if (!m || !'<>|='.includes(order)) throw new Error(`${what}: unsupported dtype '${hdr.descr}'`);
  const [type, Ctor] = m;
  const count = hdr.dims.reduce((a, b) => a * b, 1);
  const body = buf.subarray(hstart + hlen);
  const data = typedFromBytes(Ctor, body, count);
  if (order === '>' && Ctor.BYTES_PER_ELEMENT > 1) {
    const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const s = Ctor.BYTES_PER_ELEMENT;
    for (let i = 0; i < u8.length; i += s) u8.subarray(i, i + s).reverse();
  }
  if (type === 'bool') for (let i = 0; i < count; i++) data[i] = data[i] ? 1 : 0;
  return { dims: hdr.dims, type, tensor: new (ort().Tensor)(type, data, hdr.dims) };
}

function readNpy(file) {
  return decodeNpy(fs.readFileSync(file), file);
}

/** Serialize (type, data, dims) as a .npy (version 1.0) Buffer. */
function encodeNpy(type, data, dims) {
  const descr = NPY_OF_ORT[type];
  if (!descr) throw new Error(`npy: cannot write tensor type '${type}'`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre[0] = 0x93; pre.write('NUMPY', 1, 'latin1'); pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

function writeNpy(file, tensor) {
  fs.writeFileSync(file, encodeNpy(tensor.type, tensor.data, tensor.dims));
}

module.exports = {
  DT, DT_NAME, ORT_OF_DT, UnsupportedError, PbReader,
  decodeTensorProtoFields, decodeTensorProto, readTensorProtoFile,
  decodeNpy, readNpy, encodeNpy, writeNpy, NPY_OF_ORT,
};
