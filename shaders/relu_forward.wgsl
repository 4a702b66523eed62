// relu_forward.wgsl: elementwise rectified linear unit (PyTorch's torch.relu).
//   out[k] = in[k] < 0 ? 0 : in[k],  k < N * SIZE   (NaN is not < 0: it propagates)
// Letters: N batch (params.count), SIZE values per sample.
// CPU twin: reluForward in cpu/relu.ts.
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
  let v = inp[k];
  out[k] = select(v, 0.0, v < 0.0);
}
