// softmax_nll_backward.wgsl: gradient of the mean negative log-likelihood of a softmax,
// taken w.r.t. the logits (softmax and loss fused: simpler and more exact).
//   dz[n,k] = (softmax(z[n])[k] - (k == label[n] ? 1 : 0)) / N
// Letters: N batch (params.count), CLASSES values per row.
// CPU twin: softmaxNllBackward in cpu/nll.ts.
// Dispatch: one invocation per row, linear index over (x, z) workgroups of 64.

override CLASSES: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> z: array<f32>; // [N,CLASSES], logits
@group(0) @binding(2) var<storage, read> labels: array<u32>; // [N]
@group(0) @binding(3) var<storage, read_write> dz: array<f32>; // [N,CLASSES], overwritten

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (n >= params.count) { return; }
  let row = n * CLASSES;
  var m = z[row];
  for (var k = 1u; k < CLASSES; k++) { m = max(m, z[row + k]); }
  var sum = 0.0;
  for (var k = 0u; k < CLASSES; k++) { sum += exp(z[row + k] - m); }
  let inv = 1.0 / f32(params.count);
  for (var k = 0u; k < CLASSES; k++) {
    let onehot = select(0.0, 1.0, k == labels[n]);
    dz[row + k] = (exp(z[row + k] - m) / sum - onehot) * inv;
  }
}
