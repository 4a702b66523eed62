// conv2d_backward_weight.wgsl: gradient of a valid stride-1 cross-correlation w.r.t. its
// weights, first pass: partial sums over S slices of the batch (split_sum.wgsl adds them).
//   partial[s,o,c,i,j] = sum_{n in slice s, y, x} dOut[n,o,y,x] * in[n,c,y+i,x+j]
//   dw[o,c,i,j] = sum_s partial[s,o,c,i,j]
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1, S batch slices of ceil(N/S) images. NCHW.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 in [N,C,H,W], 3 partial [S,O,C,KH,KW]
//   (overwritten; slices past the batch get zeros).
// CPU twin: the dw part of conv2dBackward in cpu/conv2d.ts (with split_sum.wgsl).
// Dispatch: register-tiled (see conv2d_forward.wgsl). Each invocation owns one (c, i, block of
//   8 kernel columns j0..j0+7) and a Tile of 8 output channels x those 8 columns, summed over
//   one batch slice. The WG invocations of a workgroup differ only in (c, i, block); the slice
//   (workgroup_id.z) and the channels (workgroup_id.y) are the workgroup's, so the images
//   looped over and the dOut loads are uniform. The input row is loaded 16 columns at a time
//   and reused by 8 output columns x 8 kernel columns. Unrolled by hand.
//   Grid: x over ceil(C * KH * ceil(KW/8) / WG), y over ceil(O / 8), z over S.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // H - KH + 1
override OW: u32; // W - KW + 1
override S: u32; // batch slices
override WG: u32; // invocations per workgroup

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

// 8 rows r x 8 columns: lr holds columns 0-3 of row r, hr columns 4-7.
struct Tile {
  l0: vec4f, l1: vec4f, l2: vec4f, l3: vec4f, l4: vec4f, l5: vec4f, l6: vec4f, l7: vec4f,
  h0: vec4f, h1: vec4f, h2: vec4f, h3: vec4f, h4: vec4f, h5: vec4f, h6: vec4f, h7: vec4f,
}

// t[r][col] += a[r] * (lo, hi)[col]: 8 row values (a0, a1) times 8 column values.
fn fma8(t: Tile, a0: vec4f, a1: vec4f, lo: vec4f, hi: vec4f) -> Tile {
  return Tile(
    t.l0 + a0.x * lo, t.l1 + a0.y * lo, t.l2 + a0.z * lo, t.l3 + a0.w * lo,
    t.l4 + a1.x * lo, t.l5 + a1.y * lo, t.l6 + a1.z * lo, t.l7 + a1.w * lo,
    t.h0 + a0.x * hi, t.h1 + a0.y * hi, t.h2 + a0.z * hi, t.h3 + a0.w * hi,
    t.h4 + a1.x * hi, t.h5 + a1.y * hi, t.h6 + a1.z * hi, t.h7 + a1.w * hi,
  );
}

// dOut[n, o0..o0+3, y, x] (drow = offset of dOut[n, 0, y, 0]); 0 past the row, channels
// past O read the last one (their sums are dropped).
fn grads4(drow: u32, o0: u32, x: u32) -> vec4f {
  let last = arrayLength(&dOut) - 1u;
  let e = drow + o0 * OH * OW + min(x, OW - 1u);
  let s = OH * OW;
  let v = vec4f(dOut[min(e, last)], dOut[min(e + s, last)], dOut[min(e + 2u * s, last)],
                dOut[min(e + 3u * s, last)]);
  return select(vec4f(0.0), v, x < OW);
}

// 4 input values of row `row` from column `col`, clamped to the row.
fn load4(row: u32, col: u32) -> vec4f {
  return vec4f(inp[row + min(col, W - 1u)], inp[row + min(col + 1u, W - 1u)],
               inp[row + min(col + 2u, W - 1u)], inp[row + min(col + 3u, W - 1u)]);
}

// Adds output columns x0..x0+7 of one row: tile column col (kernel column j0+col) takes
// input column x + j0 + col, so input columns x0+j0 .. x0+j0+15 are loaded once and shifted.
fn rowPass(t0: Tile, row: u32, drow: u32, o0: u32, x0: u32, j0: u32) -> Tile {
  let v0 = load4(row, x0 + j0);
  let v1 = load4(row, x0 + j0 + 4u);
  let v2 = load4(row, x0 + j0 + 8u);
  let v3 = load4(row, x0 + j0 + 12u);
  var t = t0;
  t = fma8(t, grads4(drow, o0, x0 + 0u), grads4(drow, o0 + 4u, x0 + 0u),
           v0, v1);
  t = fma8(t, grads4(drow, o0, x0 + 1u), grads4(drow, o0 + 4u, x0 + 1u),
           vec4f(v0.yzw, v1.x), vec4f(v1.yzw, v2.x));
  t = fma8(t, grads4(drow, o0, x0 + 2u), grads4(drow, o0 + 4u, x0 + 2u),
           vec4f(v0.zw, v1.xy), vec4f(v1.zw, v2.xy));
  t = fma8(t, grads4(drow, o0, x0 + 3u), grads4(drow, o0 + 4u, x0 + 3u),
           vec4f(v0.w, v1.xyz), vec4f(v1.w, v2.xyz));
  t = fma8(t, grads4(drow, o0, x0 + 4u), grads4(drow, o0 + 4u, x0 + 4u),
           v1, v2);
  t = fma8(t, grads4(drow, o0, x0 + 5u), grads4(drow, o0 + 4u, x0 + 5u),
           vec4f(v1.yzw, v2.x), vec4f(v2.yzw, v3.x));
  t = fma8(t, grads4(drow, o0, x0 + 6u), grads4(drow, o0 + 4u, x0 + 6u),
           vec4f(v1.zw, v2.xy), vec4f(v2.zw, v3.xy));
  t = fma8(t, grads4(drow, o0, x0 + 7u), grads4(drow, o0 + 4u, x0 + 7u),
           vec4f(v1.w, v2.xyz), vec4f(v2.w, v3.xyz));
  return t;
}

// partial[e .. e+7] = (lo, hi), the first `ncols` of them.
fn store8(e: u32, lo: vec4f, hi: vec4f, ncols: u32) {
  if (ncols >= 8u) {
    partial[e] = lo.x; partial[e + 1u] = lo.y; partial[e + 2u] = lo.z; partial[e + 3u] = lo.w;
    partial[e + 4u] = hi.x; partial[e + 5u] = hi.y; partial[e + 6u] = hi.z; partial[e + 7u] = hi.w;
  } else {
    let v = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (var k = 0u; k < ncols; k++) { partial[e + k] = v[k]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x * WG + lid;
  let jblocks = (KW + 7u) / 8u;
  let j0 = (g % jblocks) * 8u;
  let i = (g / jblocks) % KH;
  let c = g / (jblocks * KH);
  let o0 = wid.y * 8u;
  let s = wid.z;
  if (c >= C) { return; }
  let slice = (params.count + S - 1u) / S;
  let n1 = min((s + 1u) * slice, params.count);
  var t: Tile; // t[r][col] = partial[s, o0 + r, c, i, j0 + col]
  for (var n = s * slice; n < n1; n++) {
    for (var y = 0u; y < OH; y++) {
      let row = ((n * C + c) * H + y + i) * W;
      let drow = (n * O * OH + y) * OW;
      for (var x0 = 0u; x0 < OW; x0 += 8u) { t = rowPass(t, row, drow, o0, x0, j0); }
    }
  }
  // partial[s, o0 + r, c, i, j0 ..]: rows past O and columns past KW are not stored
  let e = (((s * O + o0) * C + c) * KH + i) * KW + j0;
  let ncols = KW - j0;
  let rows = min(O - o0, 8u);
  store8(e, t.l0, t.h0, ncols);
  if (rows > 1u) { store8(e + C * KH * KW, t.l1, t.h1, ncols); }
  if (rows > 2u) { store8(e + 2u * C * KH * KW, t.l2, t.h2, ncols); }
  if (rows > 3u) { store8(e + 3u * C * KH * KW, t.l3, t.h3, ncols); }
  if (rows > 4u) { store8(e + 4u * C * KH * KW, t.l4, t.h4, ncols); }
  if (rows > 5u) { store8(e + 5u * C * KH * KW, t.l5, t.h5, ncols); }
  if (rows > 6u) { store8(e + 6u * C * KH * KW, t.l6, t.h6, ncols); }
  if (rows > 7u) { store8(e + 7u * C * KH * KW, t.l7, t.h7, ncols); }
}
