// sigmoid_forward.wgsl: elementwise logistic function, computed without overflow.
//   out[k] = 1 / (1 + exp(-in[k])),  k < N * SIZE
// Letters: N batch (params.count), SIZE values per sample.
// CPU twin: sigmoidForward in cpu/sigmoid.ts.
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
  let e = exp(-abs(v)); // in (0, 1]: never overflows
  out[k] = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}
