// batchnorm_forward_eval.wgsl: batch normalisation in evaluation mode (PyTorch's eval()):
// the running averages instead of the batch's statistics.
//   y[n,c,p] = (x[n,c,p] - runMean[c]) / sqrt(runVar[c] + EPSILON) * gamma[c] + beta[c]
// Letters: N batch (params.count), C channels, P positions per channel and sample.
// CPU twin: batchNormForwardEval in cpu/batchnorm.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override C: u32;
override P: u32;
override EPSILON: f32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> x: array<f32>; // [N,C,P]
@group(0) @binding(2) var<storage, read> gamma: array<f32>; // [C]
@group(0) @binding(3) var<storage, read> beta: array<f32>; // [C]
@group(0) @binding(4) var<storage, read> runMean: array<f32>; // [C]
@group(0) @binding(5) var<storage, read> runVar: array<f32>; // [C]
@group(0) @binding(6) var<storage, read_write> y: array<f32>; // [N,C,P], written

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * P) { return; }
  let c = (k / P) % C;
  y[k] = (x[k] - runMean[c]) / sqrt(runVar[c] + EPSILON) * gamma[c] + beta[c];
}
