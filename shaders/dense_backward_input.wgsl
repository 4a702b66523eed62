// dense_backward_input.wgsl: gradient of a fully connected layer w.r.t. its input.
//   dx[n,i] = sum_j dOut[n,j] * w[i,j]
// Letters: N batch (params.count), I input features, J output features.
// Bindings: 0 params (count), 1 dOut [N,J], 2 w [I,J], 3 dx [N,I] (overwritten).
// CPU twin: the dx part of denseBackward in cpu/dense.ts.
// Dispatch: register-tiled GEMM for a CPU-like adapter. Each invocation computes an 8 x 8
//   tile (8 rows r, 8 columns t as two vec4); the invocations of a workgroup share the rows
//   (workgroup_id.y), so the loads of the row operand are uniform and only the 8 column
//   values are loaded per invocation per step of the sum (8 x 8 products for 8 such loads).
//   Rows: n; columns: i. Grid: x (and z) over ceil(ceil(I/8) / 64), y over ceil(N / 8).
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
  let i0 = ((wid.z * nwg.x + wid.x) * 64u + lid) * 8u;
  let n0 = wid.y * 8u;
  if (i0 >= I) { return; }
  let rlast = params.count - 1u; // rows past the batch read the last one; their sums are dropped
  // a<r>l[t], a<r>h[t] = dx[n0+r, i0+t], dx[n0+r, i0+4+t]
  var a0l = vec4f(0.0); var a0h = vec4f(0.0);
  var a1l = vec4f(0.0); var a1h = vec4f(0.0);
  var a2l = vec4f(0.0); var a2h = vec4f(0.0);
  var a3l = vec4f(0.0); var a3h = vec4f(0.0);
  var a4l = vec4f(0.0); var a4h = vec4f(0.0);
  var a5l = vec4f(0.0); var a5h = vec4f(0.0);
  var a6l = vec4f(0.0); var a6h = vec4f(0.0);
  var a7l = vec4f(0.0); var a7h = vec4f(0.0);
  for (var j = 0u; j < J; j++) {
    let lo = vec4f(w[min(i0, I - 1u) * J + j], w[min(i0 + 1u, I - 1u) * J + j],
                   w[min(i0 + 2u, I - 1u) * J + j], w[min(i0 + 3u, I - 1u) * J + j]);
    let hi = vec4f(w[min(i0 + 4u, I - 1u) * J + j], w[min(i0 + 5u, I - 1u) * J + j],
                   w[min(i0 + 6u, I - 1u) * J + j], w[min(i0 + 7u, I - 1u) * J + j]);
    let d0 = dOut[min(n0 + 0u, rlast) * J + j];
    let d1 = dOut[min(n0 + 1u, rlast) * J + j];
    let d2 = dOut[min(n0 + 2u, rlast) * J + j];
    let d3 = dOut[min(n0 + 3u, rlast) * J + j];
    let d4 = dOut[min(n0 + 4u, rlast) * J + j];
    let d5 = dOut[min(n0 + 5u, rlast) * J + j];
    let d6 = dOut[min(n0 + 6u, rlast) * J + j];
    let d7 = dOut[min(n0 + 7u, rlast) * J + j];
    a0l += d0 * lo; a0h += d0 * hi;
    a1l += d1 * lo; a1h += d1 * hi;
    a2l += d2 * lo; a2h += d2 * hi;
    a3l += d3 * lo; a3h += d3 * hi;
    a4l += d4 * lo; a4h += d4 * hi;
    a5l += d5 * lo; a5h += d5 * hi;
    a6l += d6 * lo; a6h += d6 * hi;
    a7l += d7 * lo; a7h += d7 * hi;
  }
  let acc = array<vec4f, 16>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h, a6l, a6h, a7l, a7h);
  for (var r = 0u; r < 8u; r++) {
    let n = n0 + r;
    if (n >= params.count) { break; }
    for (var t = 0u; t < 8u; t++) {
      let i = i0 + t;
      if (i < I) { dx[n * I + i] = acc[2u * r + t / 4u][t % 4u]; }
    }
  }
}
