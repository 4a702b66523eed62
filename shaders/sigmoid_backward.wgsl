// sigmoid_backward.wgsl: gradient of the logistic function, from its output y.
//   dx[k] = dOut[k] * y[k] * (1 - y[k]),  k < N * SIZE
// Letters: N batch (params.count), SIZE values per sample.
// CPU twin: sigmoidBackward in cpu/sigmoid.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,SIZE]
@group(0) @binding(2) var<storage, read> y: array<f32>; // [N,SIZE], the forward output
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // [N,SIZE], overwritten

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * SIZE) { return; }
  let v = y[k];
  dx[k] = dOut[k] * v * (1.0 - v);
}
