// batchnorm_forward_train.wgsl: batch normalisation in training mode (PyTorch's
// torch.nn.BatchNorm2d/1d, train()): per channel c over the M = N*P values x[n,c,p],
//   mean = sum x / M;  var = sum (x - mean)^2 / M   (two passes, biased)
//   invStd = 1 / sqrt(var + EPSILON);  y = (x - mean) * invStd * gamma[c] + beta[c]
//   saveMean[c] = mean, saveInvStd[c] = invStd                      (for the backward)
//   runMean[c] = (1 - MOMENTUM) * runMean[c] + MOMENTUM * mean
//   runVar[c]  = (1 - MOMENTUM) * runVar[c]  + MOMENTUM * var * M / (M - 1)   (M > 1)
// Letters: N batch (params.count), C channels, P positions per channel and sample (H*W, or 1).
// CPU twin: batchNormForwardTrain in cpu/batchnorm.ts.
// Dispatch: one workgroup of 256 per channel; invocation lid sums values lid, lid+256, ...
//   and the 256 partial sums are added as a tree in workgroup memory: a fixed order, so the
//   result is deterministic.

override C: u32;
override P: u32;
override EPSILON: f32;
override MOMENTUM: f32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> x: array<f32>; // [N,C,P]
@group(0) @binding(2) var<storage, read> gamma: array<f32>; // [C]
@group(0) @binding(3) var<storage, read> beta: array<f32>; // [C]
@group(0) @binding(4) var<storage, read_write> runMean: array<f32>; // [C], updated
@group(0) @binding(5) var<storage, read_write> runVar: array<f32>; // [C], updated
@group(0) @binding(6) var<storage, read_write> saveMean: array<f32>; // [C], written
@group(0) @binding(7) var<storage, read_write> saveInvStd: array<f32>; // [C], written
@group(0) @binding(8) var<storage, read_write> y: array<f32>; // [N,C,P], written

var<workgroup> partial: array<f32, 256>;

// The sum of every invocation's `v`, in a fixed tree order; the same value for all.
fn workgroupSum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  for (var s = 128u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { partial[lid] += partial[lid + s]; }
  }
  return workgroupUniformLoad(&partial[0]);
}

// Index of value t (t < M, t = n*P + p) of channel c in x.
fn at(c: u32, t: u32) -> u32 {
  return ((t / P) * C + c) * P + t % P;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = wid.z * nwg.x + wid.x;
  if (c >= C) { return; }
  let M = params.count * P;
  var s = 0.0;
  for (var t = lid; t < M; t += 256u) { s += x[at(c, t)]; }
  let mean = workgroupSum(lid, s) / f32(M);
  var q = 0.0;
  for (var t = lid; t < M; t += 256u) {
    let d = x[at(c, t)] - mean;
    q += d * d;
  }
  let variance = workgroupSum(lid, q) / f32(M);
  let invStd = 1.0 / sqrt(variance + EPSILON);
  if (lid == 0u) {
    saveMean[c] = mean;
    saveInvStd[c] = invStd;
    runMean[c] = (1.0 - MOMENTUM) * runMean[c] + MOMENTUM * mean;
    runVar[c] = (1.0 - MOMENTUM) * runVar[c] + MOMENTUM * (variance * f32(M) / f32(M - 1u));
  }
  let g = gamma[c];
  let b = beta[c];
  for (var t = lid; t < M; t += 256u) {
    let e = at(c, t);
    y[e] = (x[e] - mean) * invStd * g + b;
  }
}
