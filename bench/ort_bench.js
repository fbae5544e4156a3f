// ort_bench.js MODEL BATCH THREADS SECONDS ROOT → samples/s of ONNX Runtime
// (a session of ROOT/tests/interop/common.js with all graph optimisations,
// so QDQ models run ORT's fused integer kernels): the first 64 Fashion-MNIST
// test images of testdata/fmnist_64.npy repeated to BATCH, 3 warm-up runs,
// then runs for at least SECONDS and 10 runs. Used by interp_throughput.sh
// and quant_deploy.sh.
const path = require('path');
const root = process.argv[6];
const c = require(path.join(root, 'tests/interop/common'));
(async () => {
  const [model, batch, threads, seconds] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
  const s = await c.createSession(model, { optimize: true, threads });
  const { tensor } = c.pb.readNpy(path.join(root, 'testdata/fmnist_64.npy'));
  const x = new Float32Array(batch * 784);
  for (let i = 0; i < batch; i++) x.set(tensor.data.subarray((i % 64) * 784, (i % 64 + 1) * 784), i * 784);
  const meta = s.inputMetadata && s.inputMetadata[0];
  const dims = meta && meta.shape && meta.shape.length === 2 ? [batch, 784] : [batch, 1, 28, 28];
  const feeds = { [s.inputNames[0]]: new c.ort.Tensor('float32', x, dims) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  let runs = 0; const t0 = process.hrtime.bigint(); let t = 0;
  do { await s.run(feeds); runs++; t = Number(process.hrtime.bigint() - t0) / 1e9; } while (t < seconds || runs < 10);
  console.log((runs * batch / t).toFixed(1));
})().catch((e) => { console.error(`ort_bench: ${e.message}`); process.exit(2); });