// dense_backward_input.wgsl: gradient of a fully connected layer w.r.t. its input.
//   dx[n,i] = sum_j dOut[n,j] * w[i,j]
// Letters: N batch (params.count), I input features, J output features.
// CPU twin: the dx part of denseBackward in cpu/dense.ts.
// Dispatch: register-tiled GEMM for CPU-like adapters (see conv2d_forward.wgsl). Each
//   invocation computes a Tile of 8 rows x 8 columns; the invocations of a workgroup share
//   the rows (workgroup_id.y), so the row operand's loads are uniform and each step of the
//   sum loads 8 column values per invocation for 64 products. The sum is unrolled by 4.
//   Rows: n; columns: i. Grid: x (and z) over ceil(ceil(I/8) / 64), y over ceil(N / 8).
// Include: _tile8.wgsl (struct Tile, fma8).

override I: u32;
override J: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,J]
@group(0) @binding(2) var<storage, read> w: array<f32>; // [I,J]
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // [N,I], overwritten

// w[i0 .. i0+3, j], rows past I clamped (dropped).
fn w4(i0: u32, j: u32) -> vec4f {
  return vec4f(w[min(i0, I - 1u) * J + j], w[min(i0 + 1u, I - 1u) * J + j],
               w[min(i0 + 2u, I - 1u) * J + j], w[min(i0 + 3u, I - 1u) * J + j]);
}

// dOut[n0 .. n0+3, j]; rows past the batch read its last row (their sums are dropped).
fn d4(n0: u32, j: u32) -> vec4f {
  let last = params.count - 1u;
  return vec4f(dOut[min(n0, last) * J + j], dOut[min(n0 + 1u, last) * J + j],
               dOut[min(n0 + 2u, last) * J + j], dOut[min(n0 + 3u, last) * J + j]);
}

fn step(t: Tile, n0: u32, i0: u32, j: u32) -> Tile {
  return fma8(t, d4(n0, j), d4(n0 + 4u, j), w4(i0, j), w4(i0 + 4u, j));
}

// dx[e .. e+7] = (lo, hi), the first `ncols` of them.
fn store8(e: u32, lo0: vec4f, hi0: vec4f, ncols: u32) {
  let lo = lo0;
  let hi = hi0;
  if (ncols >= 8u) {
    dx[e] = lo.x; dx[e + 1u] = lo.y; dx[e + 2u] = lo.z; dx[e + 3u] = lo.w;
    dx[e + 4u] = hi.x; dx[e + 5u] = hi.y; dx[e + 6u] = hi.z; dx[e + 7u] = hi.w;
  } else {
    let v = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (var k = 0u; k < ncols; k++) { dx[e + k] = v[k]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i0 = ((wid.z * nwg.x + wid.x) * 64u + lid) * 8u;
  let n0 = wid.y * 8u;
  if (i0 >= I) { return; }
  var t: Tile; // t[r][col] = dx[n0 + r, i0 + col]
  var j = 0u;
  for (; j + 4u <= J; j += 4u) {
    t = step(step(step(step(t, n0, i0, j), n0, i0, j + 1u), n0, i0, j + 2u), n0, i0, j + 3u);
  }
  for (; j < J; j++) { t = step(t, n0, i0, j); }
  // dx[n0 + r, i0 ..]: rows past the batch and columns past I are not stored
  let e = n0 * I + i0;
  let ncols = I - i0;
  let rows = min(params.count - n0, 8u);
  store8(e, t.l0, t.h0, ncols);
  if (rows > 1u) { store8(e + I, t.l1, t.h1, ncols); }
  if (rows > 2u) { store8(e + 2u * I, t.l2, t.h2, ncols); }
  if (rows > 3u) { store8(e + 3u * I, t.l3, t.h3, ncols); }
  if (rows > 4u) { store8(e + 4u * I, t.l4, t.h4, ncols); }
  if (rows > 5u) { store8(e + 5u * I, t.l5, t.h5, ncols); }
  if (rows > 6u) { store8(e + 6u * I, t.l6, t.h6, ncols); }
  if (rows > 7u) { store8(e + 7u * I, t.l7, t.h7, ncols); }
}
