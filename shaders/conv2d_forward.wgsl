// conv2d_forward.wgsl: 2-D cross-correlation with zero padding and stride, plus bias.
//   out[n,o,y,x] = b[o] + sum_{c,i,j} in[n,c,y*SH+i-PT,x*SW+j-PL] * w[o,c,i,j]  (0 outside in)
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, SH x SW stride, PT / PL zero rows above / columns left of the input,
//   OH = floor((H+PT+PB-KH)/SH)+1, OW likewise (the bottom/right padding PB, PR are implied
//   by OH, OW). NCHW, row-major.
// CPU twin: conv2dForward in cpu/conv2d.ts.
// Dispatch: register-tiled for CPU-like adapters (llvmpipe: lanes of 8 invocations, a load
//   that differs per invocation costs one load per lane, a uniform one a single load).
//   Each invocation computes a Tile: 8 output channels x 8 consecutive columns of one output
//   row of one image. The 64 invocations of a workgroup are 64 images; workgroup_id.y picks
//   (channel block, row, column block), so weights, loop bounds and the padding rows are
//   uniform. Stride 1: per input row, the 12 columns the tile needs are loaded once and
//   reused by 5 kernel columns. Stride SW > 1: 8 columns SW apart per kernel column.
//   Without horizontal padding the loads clamp to the row (the valid convolution's code);
//   with it they are masked to zero outside [0, W). The override expressions fold, so a
//   valid stride-1 convolution runs the same code as before padding existed.
//   Unrolled by hand: on llvmpipe every update inside a loop is masked per lane and
//   local arrays live in memory, so the inner steps are straight-line code
//   on a struct. Grid: x (and z) over ceil(N / 64), y over ceil(O/8) * OH * ceil(OW/8).
// Include: _tile8.wgsl (struct Tile, fma8).

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // floor((H + PT + PB - KH) / SH) + 1
override OW: u32; // floor((W + PL + PR - KW) / SW) + 1
override SH: u32 = 1u;
override SW: u32 = 1u;
override PT: u32 = 0u;
override PL: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> inp: array<f32>; // [N,C,H,W]
@group(0) @binding(2) var<storage, read> w: array<f32>; // [O,C,KH,KW]
@group(0) @binding(3) var<storage, read> b: array<f32>; // [O]
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // [N,O,OH,OW]

// The weights of output channels o0..o0+3 at offset k of a channel's [C,KH,KW] block
// (channels past O read the last weight; their sums are dropped).
fn weights4(o0: u32, k: u32) -> vec4f {
  let last = O * C * KH * KW - 1u;
  let e = o0 * C * KH * KW + k;
  let s = C * KH * KW;
  return vec4f(w[min(e, last)], w[min(e + s, last)], w[min(e + 2u * s, last)],
    w[min(e + 3u * s, last)]);
}

// 4 input values of row `row` from column `col`, `step` apart: without horizontal padding
// clamped to the row (columns past W only feed output columns past OW), with it 0 outside.
fn load4(row: u32, col: i32, step: u32) -> vec4f {
  if (PL == 0u && (OW - 1u) * SW + KW <= W) {
    let c = u32(col);
    return vec4f(inp[row + min(c, W - 1u)], inp[row + min(c + step, W - 1u)],
                 inp[row + min(c + 2u * step, W - 1u)], inp[row + min(c + 3u * step, W - 1u)]);
  }
  let k = vec4i(col) + vec4i(0, 1, 2, 3) * i32(step);
  let q = vec4u(clamp(k, vec4i(0), vec4i(i32(W) - 1)));
  let v = vec4f(inp[row + q.x], inp[row + q.y], inp[row + q.z], inp[row + q.w]);
  return select(vec4f(0.0), v, (k >= vec4i(0)) & (k < vec4i(i32(W))));
}

// Stride 1: adds kernel columns j0..j0+4 (those < KW) of input row `row` to the tile: they
// need input columns col0+j0 .. col0+j0+11 (col0 = x0 - PL), loaded once as v0, v1, v2 and
// shifted.
fn rowPass(t0: Tile, row: u32, col0: i32, o0: u32, k: u32, j0: u32) -> Tile {
  let v0 = load4(row, col0 + i32(j0), 1u);
  let v1 = load4(row, col0 + i32(j0) + 4, 1u);
  let v2 = load4(row, col0 + i32(j0) + 8, 1u);
  var t = fma8(t0, weights4(o0, k), weights4(o0 + 4u, k), v0, v1);
  if (j0 + 1u < KW) {
    t = fma8(t, weights4(o0, k + 1u), weights4(o0 + 4u, k + 1u),
             vec4f(v0.yzw, v1.x), vec4f(v1.yzw, v2.x));
  }
  if (j0 + 2u < KW) {
    t = fma8(t, weights4(o0, k + 2u), weights4(o0 + 4u, k + 2u),
             vec4f(v0.zw, v1.xy), vec4f(v1.zw, v2.xy));
  }
  if (j0 + 3u < KW) {
    t = fma8(t, weights4(o0, k + 3u), weights4(o0 + 4u, k + 3u),
             vec4f(v0.w, v1.xyz), vec4f(v1.w, v2.xyz));
  }
  if (j0 + 4u < KW) { t = fma8(t, weights4(o0, k + 4u), weights4(o0 + 4u, k + 4u), v1, v2); }
  return t;
}

// Stride SW > 1: adds kernel column j of input row `row` (input columns col0 + j + k*SW).
fn stridedPass(t: Tile, row: u32, col0: i32, o0: u32, k: u32, j: u32) -> Tile {
  let lo = load4(row, col0 + i32(j), SW);
  let hi = load4(row, col0 + i32(j + 4u * SW), SW);
  return fma8(t, weights4(o0, k + j), weights4(o0 + 4u, k + j), lo, hi);
}

// out[e .. e+7] = (lo, hi) + bias, the first `ncols` of them.
fn store8(e: u32, lo: vec4f, hi: vec4f, bias: f32, ncols: u32) {
  if (ncols >= 8u) {
    out[e] = lo.x + bias; out[e + 1u] = lo.y + bias; out[e + 2u] = lo.z + bias; out[e + 3u] = lo.w + bias;
    out[e + 4u] = hi.x + bias; out[e + 5u] = hi.y + bias; out[e + 6u] = hi.z + bias; out[e + 7u] = hi.w + bias;
  } else {
    let v = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (var k = 0u; k < ncols; k++) { out[e + k] = v[k] + bias; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.z * nwg.x + wid.x) * 64u + lid;
  let xblocks = (OW + 7u) / 8u;
  let x0 = (wid.y % xblocks) * 8u;
  let y = (wid.y / xblocks) % OH;
  let o0 = (wid.y / (xblocks * OH)) * 8u;
  if (n >= params.count) { return; }
  var t: Tile; // t[r][col] = out[n, o0 + r, y, x0 + col]
  let col0 = i32(x0 * SW) - i32(PL); // input column of tile column 0 and kernel column 0
  for (var c = 0u; c < C; c++) {
    for (var i = 0u; i < KH; i++) {
      let r = i32(y * SH + i) - i32(PT); // input row; padding rows add nothing
      if (r < 0 || r >= i32(H)) { continue; }
      let row = ((n * C + c) * H + u32(r)) * W;
      let k = (c * KH + i) * KW;
      if (SW == 1u) {
        // Kernel columns j0..j0+4 need input columns col0+j0 .. col0+j0+11: v0, v1, v2.
        t = rowPass(t, row, col0, o0, k, 0u);
        for (var j0 = 5u; j0 < KW; j0 += 5u) { t = rowPass(t, row, col0, o0, k + j0, j0); }
      } else {
        for (var j = 0u; j < KW; j++) { t = stridedPass(t, row, col0, o0, k, j); }
      }
    }
  }
  // out[n, o0 + r, y, x0 ..]: rows past O and columns past OW are not stored
  let e = ((n * O + o0) * OH + y) * OW + x0;
  let ncols = OW - x0;
  let rows = min(O - o0, 8u);
  store8(e, t.l0, t.h0, b[o0], ncols);
  if (rows > 1u) { store8(e + OH * OW, t.l1, t.h1, b[o0 + 1u], ncols); }
  if (rows > 2u) { store8(e + 2u * OH * OW, t.l2, t.h2, b[o0 + 2u], ncols); }
  if (rows > 3u) { store8(e + 3u * OH * OW, t.l3, t.h3, b[o0 + 3u], ncols); }
  if (rows > 4u) { store8(e + 4u * OH * OW, t.l4, t.h4, b[o0 + 4u], ncols); }
  if (rows > 5u) { store8(e + 5u * OH * OW, t.l5, t.h5, b[o0 + 5u], ncols); }
  if (rows > 6u) { store8(e + 6u * OH * OW, t.l6, t.h6, b[o0 + 6u], ncols); }
  if (rows > 7u) { store8(e + 7u * OH * OW, t.l7, t.h7, b[o0 + 7u], ncols); }
}
