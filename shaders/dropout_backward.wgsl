// dropout_backward.wgsl: gradient of inverted dropout, the forward's mask recomputed from
// the counter hash (nothing stored).
//   key   = hash32(hash32(hash32(seed) ^ LAYER) ^ step)
//   dx[k] = hash32(hash32(k) ^ key) >= THRESHOLD ? dOut[k] * SCALE : 0,  k < N * SIZE
// Letters: as dropout_forward.wgsl.
// CPU twin: dropoutBackward in cpu/dropout.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override SIZE: u32;
override LAYER: u32;
override THRESHOLD: u32;
override SCALE: f32;

@group(0) @binding(0) var<uniform> params: Params; // count, seed, step
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,SIZE]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>; // [N,SIZE], overwritten

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * SIZE) { return; }
  let key = hash32(hash32(hash32(params.seed) ^ LAYER) ^ params.step);
  let keep = hash32(hash32(k) ^ key) >= THRESHOLD;
  dx[k] = select(0.0, dOut[k] * SCALE, keep);
}
