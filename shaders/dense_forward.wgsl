// dense_forward.wgsl: fully connected layer, out = x . w + b.
//   out[n,j] = b[j] + sum_i x[n,i] * w[i,j]
// Letters: N batch (params.count), I input features, J output features.
// CPU twin: denseForward in cpu/dense.ts.
// Dispatch: register-tiled GEMM for CPU-like adapters (see conv2d_forward.wgsl). Each
//   invocation computes a Tile of 8 rows x 8 columns; the invocations of a workgroup share
//   the rows (workgroup_id.y), so the row operand's loads are uniform and each step of the
//   sum loads 8 column values per invocation for 64 products. The sum is unrolled by 4.
//   Rows: n; columns: j. Grid: x (and z) over ceil(ceil(J/8) / 64), y over ceil(N / 8).
// Include: _tile8.wgsl (struct Tile, fma8).

override I: u32;
override J: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> x: array<f32>; // [N,I]
@group(0) @binding(2) var<storage, read> w: array<f32>; // [I,J]
@group(0) @binding(3) var<storage, read> b: array<f32>; // [J]
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // [N,J]

// w[i, j0 .. j0+3], clamped to the row (columns past J are dropped).
fn w4(i: u32, j0: u32) -> vec4f {
  let e = i * J;
  return vec4f(w[e + min(j0, J - 1u)], w[e + min(j0 + 1u, J - 1u)],
               w[e + min(j0 + 2u, J - 1u)], w[e + min(j0 + 3u, J - 1u)]);
}

// x[n0 .. n0+3, i]; rows past the batch read its last row (their sums are dropped).
fn x4(n0: u32, i: u32) -> vec4f {
  let last = params.count - 1u;
  return vec4f(x[min(n0, last) * I + i], x[min(n0 + 1u, last) * I + i],
               x[min(n0 + 2u, last) * I + i], x[min(n0 + 3u, last) * I + i]);
}

fn step(t: Tile, n0: u32, j0: u32, i: u32) -> Tile {
  return fma8(t, x4(n0, i), x4(n0 + 4u, i), w4(i, j0), w4(i, j0 + 4u));
}

// out[e .. e+7] = (lo, hi) + bias, the first `ncols` of them.
fn store8(e: u32, lo0: vec4f, hi0: vec4f, bias: vec4f, biash: vec4f, ncols: u32) {
  let lo = lo0 + bias;
  let hi = hi0 + biash;
  if (ncols >= 8u) {
    out[e] = lo.x; out[e + 1u] = lo.y; out[e + 2u] = lo.z; out[e + 3u] = lo.w;
    out[e + 4u] = hi.x; out[e + 5u] = hi.y; out[e + 6u] = hi.z; out[e + 7u] = hi.w;
  } else {
    let v = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (var k = 0u; k < ncols; k++) { out[e + k] = v[k]; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let j0 = ((wid.z * nwg.x + wid.x) * 64u + lid) * 8u;
  let n0 = wid.y * 8u;
  if (j0 >= J) { return; }
  var t: Tile; // t[r][col] = out[n0 + r, j0 + col] - b[j0 + col]
  var i = 0u;
  for (; i + 4u <= I; i += 4u) {
    t = step(step(step(step(t, n0, j0, i), n0, j0, i + 1u), n0, j0, i + 2u), n0, j0, i + 3u);
  }
  for (; i < I; i++) { t = step(t, n0, j0, i); }
  let bl = vec4f(b[min(j0, J - 1u)], b[min(j0 + 1u, J - 1u)], b[min(j0 + 2u, J - 1u)], b[min(j0 + 3u, J - 1u)]);
  let bh = vec4f(b[min(j0 + 4u, J - 1u)], b[min(j0 + 5u, J - 1u)], b[min(j0 + 6u, J - 1u)], b[min(j0 + 7u, J - 1u)]);
  // out[n0 + r, j0 ..]: rows past the batch and columns past J are not stored
  let e = n0 * J + j0;
  let ncols = J - j0;
  let rows = min(params.count - n0, 8u);
  store8(e, t.l0, t.h0, bl, bh, ncols);
  if (rows > 1u) { store8(e + J, t.l1, t.h1, bl, bh, ncols); }
  if (rows > 2u) { store8(e + 2u * J, t.l2, t.h2, bl, bh, ncols); }
  if (rows > 3u) { store8(e + 3u * J, t.l3, t.h3, bl, bh, ncols); }
  if (rows > 4u) { store8(e + 4u * J, t.l4, t.h4, bl, bh, ncols); }
  if (rows > 5u) { store8(e + 5u * J, t.l5, t.h5, bl, bh, ncols); }
  if (rows > 6u) { store8(e + 6u * J, t.l6, t.h6, bl, bh, ncols); }
  if (rows > 7u) { store8(e + 7u * J, t.l7, t.h7, bl, bh, ncols); }
}
