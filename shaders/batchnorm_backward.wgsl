// batchnorm_backward.wgsl: gradient of training-mode batch normalisation, per channel c over
// the M = N*P values (xhat = (x - saveMean[c]) * saveInvStd[c]):
//   dBeta[c]  = sum dOut;   dGamma[c] = sum dOut * xhat
//   dx        = gamma[c] * saveInvStd[c] / M * (M * dOut - dBeta[c] - xhat * dGamma[c])
// Letters: N batch (params.count), C channels, P positions per channel and sample.
// CPU twin: batchNormBackward in cpu/batchnorm.ts.
// Dispatch: one workgroup of 256 per channel; both sums are added in a fixed tree order in
//   workgroup memory (deterministic), then every invocation writes its share of dx.

override C: u32;
override P: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,C,P]
@group(0) @binding(2) var<storage, read> x: array<f32>; // [N,C,P]
@group(0) @binding(3) var<storage, read> gamma: array<f32>; // [C]
@group(0) @binding(4) var<storage, read> saveMean: array<f32>; // [C]
@group(0) @binding(5) var<storage, read> saveInvStd: array<f32>; // [C], from the forward
@group(0) @binding(6) var<storage, read_write> dGamma: array<f32>; // [C], overwritten
@group(0) @binding(7) var<storage, read_write> dBeta: array<f32>; // [C], overwritten
@group(0) @binding(8) var<storage, read_write> dx: array<f32>; // [N,C,P], overwritten

var<workgroup> partial: array<vec2f, 256>;

// The sums of every invocation's `v` (both lanes), in a fixed tree order; the same for all.
fn workgroupSum2(lid: u32, v: vec2f) -> vec2f {
  partial[lid] = v;
  for (var s = 128u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { partial[lid] += partial[lid + s]; }
  }
  return workgroupUniformLoad(&partial[0]);
}

// Index of value t (t < M, t = n*P + p) of channel c.
fn at(c: u32, t: u32) -> u32 {
  return ((t / P) * C + c) * P + t % P;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = wid.z * nwg.x + wid.x;
  if (c >= C) { return; }
  let M = params.count * P;
  let mean = saveMean[c];
  let invStd = saveInvStd[c];
  var s = vec2f(0.0);
  for (var t = lid; t < M; t += 256u) {
    let e = at(c, t);
    let dy = dOut[e];
    s += vec2f(dy, dy * (x[e] - mean) * invStd);
  }
  let sums = workgroupSum2(lid, s);
  let db = sums.x;
  let dg = sums.y;
  if (lid == 0u) {
    dBeta[c] = db;
    dGamma[c] = dg;
  }
  let k = gamma[c] * invStd / f32(M);
  let m = f32(M);
  for (var t = lid; t < M; t += 256u) {
    let e = at(c, t);
    let xhat = (x[e] - mean) * invStd;
    dx[e] = k * (m * dOut[e] - db - xhat * dg);
  }
}
