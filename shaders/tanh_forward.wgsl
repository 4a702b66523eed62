// tanh_forward.wgsl: elementwise hyperbolic tangent.
//   out[k] = tanh(in[k]),  k < N * SIZE
// Letters: N batch (params.count), SIZE values per sample.
// CPU twin: tanhForward in cpu/tanh.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override SIZE: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> inp: array<f32>; // [N,SIZE]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N,SIZE]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * SIZE) { return; }
  // tanh(15) rounds to 1 in float32; the clamp keeps exp-based implementations from inf/inf.
  out[k] = tanh(clamp(inp[k], -15.0, 15.0));
}
