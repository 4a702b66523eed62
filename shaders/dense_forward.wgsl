// dense_forward.wgsl: fully connected layer, out = x . w + b.
//   out[n,j] = b[j] + sum_i x[n,i] * w[i,j]
// Letters: N batch (params.count), I input features, J output features.
// Bindings: 0 params (count), 1 x [N,I], 2 w [I,J], 3 b [J], 4 out [N,J].
// CPU twin: denseForward in cpu/dense.ts.
// Dispatch: register-tiled GEMM for a CPU-like adapter. Each invocation computes an 8 x 8
//   tile (8 rows r, 8 columns t as two vec4); the invocations of a workgroup share the rows
//   (workgroup_id.y), so the loads of the row operand are uniform and only the 8 column
//   values are loaded per invocation per step of the sum (8 x 8 products for 8 such loads).
//   Rows: n; columns: j. Grid: x (and z) over ceil(ceil(J/8) / 64), y over ceil(N / 8).
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
  let j0 = ((wid.z * nwg.x + wid.x) * 64u + lid) * 8u;
  let n0 = wid.y * 8u;
  if (j0 >= J) { return; }
  let rlast = params.count - 1u; // rows past the batch read the last one; their sums are dropped
  // a<r>l[t], a<r>h[t] = out[n0+r, j0+t], out[n0+r, j0+4+t]
  var a0l = vec4f(0.0); var a0h = vec4f(0.0);
  var a1l = vec4f(0.0); var a1h = vec4f(0.0);
  var a2l = vec4f(0.0); var a2h = vec4f(0.0);
  var a3l = vec4f(0.0); var a3h = vec4f(0.0);
  var a4l = vec4f(0.0); var a4h = vec4f(0.0);
  var a5l = vec4f(0.0); var a5h = vec4f(0.0);
  var a6l = vec4f(0.0); var a6h = vec4f(0.0);
  var a7l = vec4f(0.0); var a7h = vec4f(0.0);
  for (var i = 0u; i < I; i++) {
    let e = i * J;
    let lo = vec4f(w[e + min(j0, J - 1u)], w[e + min(j0 + 1u, J - 1u)],
                   w[e + min(j0 + 2u, J - 1u)], w[e + min(j0 + 3u, J - 1u)]);
    let hi = vec4f(w[e + min(j0 + 4u, J - 1u)], w[e + min(j0 + 5u, J - 1u)],
                   w[e + min(j0 + 6u, J - 1u)], w[e + min(j0 + 7u, J - 1u)]);
    let x0 = x[min(n0 + 0u, rlast) * I + i];
    let x1 = x[min(n0 + 1u, rlast) * I + i];
    let x2 = x[min(n0 + 2u, rlast) * I + i];
    let x3 = x[min(n0 + 3u, rlast) * I + i];
    let x4 = x[min(n0 + 4u, rlast) * I + i];
    let x5 = x[min(n0 + 5u, rlast) * I + i];
    let x6 = x[min(n0 + 6u, rlast) * I + i];
    let x7 = x[min(n0 + 7u, rlast) * I + i];
    a0l += x0 * lo; a0h += x0 * hi;
    a1l += x1 * lo; a1h += x1 * hi;
    a2l += x2 * lo; a2h += x2 * hi;
    a3l += x3 * lo; a3h += x3 * hi;
    a4l += x4 * lo; a4h += x4 * hi;
    a5l += x5 * lo; a5h += x5 * hi;
    a6l += x6 * lo; a6h += x6 * hi;
    a7l += x7 * lo; a7h += x7 * hi;
  }
  let acc = array<vec4f, 16>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h, a6l, a6h, a7l, a7h);
  for (var r = 0u; r < 8u; r++) {
    let n = n0 + r;
    if (n >= params.count) { break; }
    for (var t = 0u; t < 8u; t++) {
      let j = j0 + t;
      if (j < J) { out[n * J + j] = acc[2u * r + t / 4u][t % 4u] + b[j]; }
    }
  }
}
