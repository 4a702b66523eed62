// sigmoid_backward.wgsl: gradient of the logistic function, from its output y.
//   dx[k] = dOut[k] * y[k] * (1 - y[k]),  k < N * SIZE
// Letters: N batch (params.count), SIZE values per sample.
// Bindings: 0 params (count), 1 dOut [N,SIZE], 2 y [N,SIZE] (forward output),
//   3 dx [N,SIZE] (overwritten).
// CPU twin: sigmoidBackward in cpu/sigmoid.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * SIZE) { return; }
  let v = y[k];
  dx[k] = dOut[k] * v * (1.0 - v);
}
