// dense_backward_weight.wgsl: gradient of a fully connected layer w.r.t. its weights.
//   dw[i,j] = sum_n x[n,i] * dOut[n,j]
// Letters: N batch (params.count), I input features, J output features.
// CPU twin: the dw part of denseBackward in cpu/dense.ts.
// Dispatch: register-tiled GEMM for CPU-like adapters (see conv2d_forward.wgsl). Each
//   invocation computes a Tile of 8 rows x 8 columns; the invocations of a workgroup share
//   the rows (workgroup_id.y), so the row operand's loads are uniform and each step of the
//   sum loads 8 column values per invocation for 64 products. The sum is unrolled by 4.
//   Rows: i; columns: j; the sum runs over the batch. Grid: x (and z) over
//   ceil(ceil(J/8) / 64), y over ceil(I / 8).
// Include: _tile8.wgsl (struct Tile, fma8).

override I: u32;
override J: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> x: array<f32>; // [N,I]
@group(0) @binding(2) var<storage, read> dOut: array<f32>; // [N,J]
@group(0) @binding(3) var<storage, read_write> dw: array<f32>; // [I,J], overwritten

// dOut[n, j0 .. j0+3], clamped to the row (columns past J are dropped).
fn d4(n: u32, j0: u32) -> vec4f {
  let e = n * J;
  return vec4f(dOut[e + min(j0, J - 1u)], dOut[e + min(j0 + 1u, J - 1u)],
               dOut[e + min(j0 + 2u, J - 1u)], dOut[e + min(j0 + 3u, J - 1u)]);
}

// x[n, i0 .. i0+3], clamped to the row (rows past I are dropped).
fn x4(n: u32, i0: u32) -> vec4f {
  let e = n * I;
  return vec4f(x[e + min(i0, I - 1u)], x[e + min(i0 + 1u, I - 1u)],
               x[e + min(i0 + 2u, I - 1u)], x[e + min(i0 + 3u, I - 1u)]);
}

fn step(t: Tile, i0: u32, j0: u32, n: u32) -> Tile {
  return fma8(t, x4(n, i0), x4(n, i0 + 4u), d4(n, j0), d4(n, j0 + 4u));
}

// dw[e .. e+7] = (lo, hi), the first `ncols` of them.
fn store8(e: u32, lo0: vec4f, hi0: vec4f, ncols: u32) {
  let lo = lo0;
  let hi = hi0;
  if (ncols >= 8u) {
    dw[e] = lo.x; dw[e + 1u] = lo.y; dw[e + 2u] = lo.z; dw[e + 3u] = lo.w;
    dw[e + 4u] = hi.x; dw[e + 5u] = hi.y; dw[e + 6u] = hi.z; dw[e + 7u] = hi.w;
  } else {
    let v = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (var k = 0u; k < ncols; k++) { dw[e + k] = v[k]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let j0 = ((wid.z * nwg.x + wid.x) * 64u + lid) * 8u;
  let i0 = wid.y * 8u;
  if (j0 >= J) { return; }
  var t: Tile; // t[r][col] = dw[i0 + r, j0 + col]
  var n = 0u;
  for (; n + 4u <= params.count; n += 4u) {
    t = step(step(step(step(t, i0, j0, n), i0, j0, n + 1u), i0, j0, n + 2u), i0, j0, n + 3u);
  }
  for (; n < params.count; n++) { t = step(t, i0, j0, n); }
  // dw[i0 + r, j0 ..]: rows past I and columns past J are not stored
  let e = i0 * J + j0;
  let ncols = J - j0;
  let rows = min(I - i0, 8u);
  store8(e, t.l0, t.h0, ncols);
  if (rows > 1u) { store8(e + J, t.l1, t.h1, ncols); }
  if (rows > 2u) { store8(e + 2u * J, t.l2, t.h2, ncols); }
  if (rows > 3u) { store8(e + 3u * J, t.l3, t.h3, ncols); }
  if (rows > 4u) { store8(e + 4u * J, t.l4, t.h4, ncols); }
  if (rows > 5u) { store8(e + 5u * J, t.l5, t.h5, ncols); }
  if (rows > 6u) { store8(e + 6u * J, t.l6, t.h6, ncols); }
  if (rows > 7u) { store8(e + 7u * J, t.l7, t.h7, ncols); }
}
