// softmax_forward.wgsl: row-wise softmax, shifted by the row maximum.
//   out[n,k] = exp(z[n,k] - max_k z[n,k]) / sum_k exp(z[n,k] - max_k z[n,k])
// Letters: N batch (params.count), CLASSES values per row.
// CPU twin: softmaxForward in cpu/softmax.ts.
// Dispatch: one invocation per row, linear index over (x, z) workgroups of 64.

override CLASSES: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> z: array<f32>; // [N,CLASSES], logits
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N,CLASSES]

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
  for (var k = 0u; k < CLASSES; k++) { out[row + k] = exp(z[row + k] - m) / sum; }
}
