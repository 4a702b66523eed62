// dense_backward_input.wgsl: gradient of a fully connected layer w.r.t. its input.
//   dx[n,i] = sum_j dOut[n,j] * w[i,j]
// Letters: N batch (params.count), I input features, J output features.
// Bindings: 0 params (count), 1 dOut [N,J], 2 w [I,J], 3 dx [N,I] (overwritten).
// CPU twin: the dx part of denseBackward in cpu/dense.ts.
// Dispatch: one invocation per dx value, linear index over (x, z) workgroups of 64.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override I: u32;
override J: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * I) { return; }
  let i = k % I;
  let n = k / I;
  var sum = 0.0;
  for (var j = 0u; j < J; j++) { sum += dOut[n * J + j] * w[i * J + j]; }
  dx[k] = sum;
}
