// relu_backward.wgsl: gradient of ReLU from its output y (PyTorch's threshold_backward).
//   dx[k] = y[k] > 0 ? dOut[k] : 0,  k < N * SIZE
// Letters: N batch (params.count), SIZE values per sample.
// CPU twin: reluBackward in cpu/relu.ts.
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
  dx[k] = select(0.0, dOut[k], y[k] > 0.0);
}
