// split_sum.wgsl: second pass of a split reduction: adds the S partial sums of every value,
// the first K of them into `out`, the next B into `outB` (conv: dw and db).
//   v[k] = sum_{s<S} partial[s, k],  k < K + B;  out[k] = v[k],  outB[k] = v[K + k]
// Letters: S slices, K + B values.
// CPU twin: the sum over the batch in the dw and db parts of conv2dBackward (cpu/conv2d.ts),
//   whose slices conv2d_backward_weight.wgsl computes.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override S: u32;
override K: u32;
override B: u32;

@group(0) @binding(0) var<uniform> params: Params; // unused, bound like in every kernel
@group(0) @binding(1) var<storage, read> partial: array<f32>; // [S,K+B]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [K], overwritten
@group(0) @binding(3) var<storage, read_write> outB: array<f32>; // [B], overwritten

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= K + B || params.count == 0u) { return; }
  var sum = 0.0;
  for (var s = 0u; s < S; s++) { sum += partial[s * (K + B) + k]; }
  if (k < K) { out[k] = sum; } else { outB[k - K] = sum; }
}
