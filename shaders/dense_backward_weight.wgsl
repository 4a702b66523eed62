// dense_backward_weight.wgsl: gradient of a fully connected layer w.r.t. its weights.
//   dw[i,j] = sum_n x[n,i] * dOut[n,j]
// Letters: N batch (params.count), I input features, J output features.
// Bindings: 0 params (count), 1 x [N,I], 2 dOut [N,J], 3 dw [I,J] (overwritten).
// CPU twin: the dw part of denseBackward in cpu/dense.ts.
// Dispatch: one invocation per dw value, linear index over (x, z) workgroups of 64.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override I: u32;
override J: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= I * J) { return; }
  let j = k % J;
  let i = k / J;
  var sum = 0.0;
  for (var n = 0u; n < params.count; n++) { sum += x[n * I + i] * dOut[n * J + j]; }
  dw[k] = sum;
}
