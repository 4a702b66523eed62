// dense_forward.wgsl: fully connected layer, out = x . w + b.
//   out[n,j] = b[j] + sum_i x[n,i] * w[i,j]
// Letters: N batch (params.count), I input features, J output features.
// Bindings: 0 params (count), 1 x [N,I], 2 w [I,J], 3 b [J], 4 out [N,J].
// CPU twin: denseForward in cpu/dense.ts.
// Dispatch: one invocation per output, linear index over (x, z) workgroups of 64.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override I: u32;
override J: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * J) { return; }
  let j = k % J;
  let n = k / J;
  var sum = b[j];
  for (var i = 0u; i < I; i++) { sum += x[n * I + i] * w[i * J + j]; }
  out[k] = sum;
}
