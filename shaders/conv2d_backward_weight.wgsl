// conv2d_backward_weight.wgsl: gradient of a cross-correlation with zero padding and stride
// w.r.t. its weights and bias, first pass: partial sums over S slices of the batch
// (split_sum.wgsl adds them). The bias is a weight on an input of ones, so one more lane
// computes it.
//   partial[s,o,c,i,j] = sum_{n in slice s, y, x} dOut[n,o,y,x] * in[n,c,y*SH+i-PT,x*SW+j-PL]
//   (0 outside the input)
//   partial[s,O*C*KH*KW + o] = sum_{n in slice s, y, x} dOut[n,o,y,x]
//   dw[o,c,i,j] = sum_s partial[s,o,c,i,j],  db[o] = sum_s partial[s,O*C*KH*KW + o]
//   (the slices s past the batch: partial[s,...] = 0)
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, SH x SW stride, PT / PL zero rows above / columns left of the input,
//   OH = floor((H+PT+PB-KH)/SH)+1, OW likewise (PB, PR implied), S batch slices of
//   ceil(N/S) images. NCHW. Padding: loads outside the input are masked to 0 (the override
//   expressions fold, so a valid convolution runs the code it ran before padding existed).
// CPU twin: the dw and db parts of conv2dBackward in cpu/conv2d.ts (with split_sum.wgsl).
// Dispatch: register-tiled (see conv2d_forward.wgsl): each invocation owns one (c, i, block
//   of JB kernel columns j0..j0+JB-1) and a Tile of OB output channels x those JB columns,
//   summed over one batch slice. JB is 5 or 4, OB 10 or 8, whichever wastes fewer columns and
//   channels (LeNet: 5 and 10, O = 20 and 50, KW = 5, nothing wasted; a 3x3 kernel with 32
//   channels: 4 and 8); the Tile is written for 10 x 5, and the rows and the column past
//   OB x JB are never stored, so the compiler drops their products. The lane after the last (c = C, i = 0, j0 = 0) reads ones
//   instead of the input: its column 0 is the bias gradient (on LeNet it fills an otherwise
//   idle lane). The WG invocations of a workgroup differ only in
//   (c, i, block); the slice (workgroup_id.z) and the channels (workgroup_id.y) are the
//   workgroup's, so the images looped over and the dOut loads are uniform. Per 8 output
//   columns, the 12 input columns they need are loaded once and shifted (stride 1), or each
//   column's JB inputs are loaded (stride SW > 1). Unrolled by hand.
//   Grid: x over ceil((C * KH * ceil(KW/JB) + 1) / WG), y over ceil(O / OB), z over S.
//   Tried: two input channels per invocation (a 10 x 10 tile, each dOut value loaded feeding
//   100 products) is slower on lavapipe, conv1 at batch 500 366 ms CPU vs 288 (the 100
//   accumulators spill).

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // H + PT + PB - KH + 1
override OW: u32; // W + PL + PR - KW + 1
override SH: u32 = 1u;
override SW: u32 = 1u;
override PT: u32 = 0u;
override PL: u32 = 0u;
override JB: u32 = 5u; // kernel columns per invocation: 5 or 4
override OB: u32 = 10u; // output channels per invocation: 10 or 8
override S: u32; // batch slices
override WG: u32; // invocations per workgroup

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,O,OH,OW]
@group(0) @binding(2) var<storage, read> inp: array<f32>; // [N,C,H,W]
@group(0) @binding(3) var<storage, read_write> partial: array<f32>; // [S,O*C*KH*KW+O], overwritten

// 10 rows r (output channels) x 5 columns (kernel columns): lr holds columns 0-3, hr column 4.
struct Tile {
  l0: vec4f, l1: vec4f, l2: vec4f, l3: vec4f, l4: vec4f,
  l5: vec4f, l6: vec4f, l7: vec4f, l8: vec4f, l9: vec4f,
  h0: f32, h1: f32, h2: f32, h3: f32, h4: f32, h5: f32, h6: f32, h7: f32, h8: f32, h9: f32,
}

// 10 values of dOut, one per tile row.
struct Grads { a: vec4f, b: vec4f, c: vec2f }

// t[r][col] += g[r] * (lo, hi)[col]: 10 row values times 5 column values.
fn fma10x5(t: Tile, g: Grads, lo: vec4f, hi: f32) -> Tile {
  return Tile(
    t.l0 + g.a.x * lo, t.l1 + g.a.y * lo, t.l2 + g.a.z * lo, t.l3 + g.a.w * lo,
    t.l4 + g.b.x * lo, t.l5 + g.b.y * lo, t.l6 + g.b.z * lo, t.l7 + g.b.w * lo,
    t.l8 + g.c.x * lo, t.l9 + g.c.y * lo,
    t.h0 + g.a.x * hi, t.h1 + g.a.y * hi, t.h2 + g.a.z * hi, t.h3 + g.a.w * hi,
    t.h4 + g.b.x * hi, t.h5 + g.b.y * hi, t.h6 + g.b.z * hi, t.h7 + g.b.w * hi,
    t.h8 + g.c.x * hi, t.h9 + g.c.y * hi,
  );
}

// dOut[n, o0..o0+9, y, x] (drow = offset of dOut[n, 0, y, 0]); 0 past the row, channels
// past O read the last value (their sums are dropped).
fn grads10(drow: u32, o0: u32, x: u32) -> Grads {
  let last = arrayLength(&dOut) - 1u;
  let e = drow + o0 * OH * OW + min(x, OW - 1u);
  let s = OH * OW;
  let g = Grads(
    vec4f(dOut[min(e, last)], dOut[min(e + s, last)], dOut[min(e + 2u * s, last)],
          dOut[min(e + 3u * s, last)]),
    vec4f(dOut[min(e + 4u * s, last)], dOut[min(e + 5u * s, last)],
          dOut[min(e + 6u * s, last)], dOut[min(e + 7u * s, last)]),
    vec2f(dOut[min(e + 8u * s, last)], dOut[min(e + 9u * s, last)]),
  );
  if (x < OW) { return g; }
  return Grads(vec4f(0.0), vec4f(0.0), vec2f(0.0));
}

// 4 input values of row `row` from column `col`; ones on the bias lane. Valid convolution:
// clamped to the row (columns past W only meet dOut columns past OW, which are 0). Padded:
// 0 outside the input, and everywhere when the row is a padding row (`inside` false).
fn load4(row: u32, col: i32, bias: bool, inside: bool) -> vec4f {
  if (bias) { return vec4f(1.0); }
  if (PT == 0u && PL == 0u && (OH - 1u) * SH + KH <= H && (OW - 1u) * SW + KW <= W) {
    let c = u32(col);
    return vec4f(inp[row + min(c, W - 1u)], inp[row + min(c + 1u, W - 1u)],
                 inp[row + min(c + 2u, W - 1u)], inp[row + min(c + 3u, W - 1u)]);
  }
  let k = vec4i(col) + vec4i(0, 1, 2, 3);
  let q = vec4u(clamp(k, vec4i(0), vec4i(i32(W) - 1)));
  let v = vec4f(inp[row + q.x], inp[row + q.y], inp[row + q.z], inp[row + q.w]);
  return select(vec4f(0.0), v, (k >= vec4i(0)) & (k < vec4i(i32(W))) & vec4<bool>(inside));
}

// Input columns x0+j0 .. x0+j0+11 of one row (ones on the bias lane).
struct Cols { v0: vec4f, v1: vec4f, v2: vec4f }

fn cols12(row: u32, col: i32, bias: bool, inside: bool) -> Cols {
  return Cols(load4(row, col, bias, inside), load4(row, col + 4, bias, inside),
              load4(row, col + 8, bias, inside));
}

// Tile column col (kernel column j0+col) of output column x0+k takes input column
// x0+j0+k+col: t += g * (columns k .. k+4 of v).
fn shifted(t: Tile, g: Grads, v: Cols, k: u32) -> Tile {
  switch (k) {
    case 0u: { return fma10x5(t, g, v.v0, v.v1.x); }
    case 1u: { return fma10x5(t, g, vec4f(v.v0.yzw, v.v1.x), v.v1.y); }
    case 2u: { return fma10x5(t, g, vec4f(v.v0.zw, v.v1.xy), v.v1.z); }
    case 3u: { return fma10x5(t, g, vec4f(v.v0.w, v.v1.xyz), v.v1.w); }
    case 4u: { return fma10x5(t, g, v.v1, v.v2.x); }
    case 5u: { return fma10x5(t, g, vec4f(v.v1.yzw, v.v2.x), v.v2.y); }
    case 6u: { return fma10x5(t, g, vec4f(v.v1.zw, v.v2.xy), v.v2.z); }
    default: { return fma10x5(t, g, vec4f(v.v1.w, v.v2.xyz), v.v2.w); }
  }
}

// Adds output columns x0..x0+7 of one row.
fn rowPass(t0: Tile, row: u32, drow: u32, o0: u32, x0: u32, j0: u32, bias: bool,
           inside: bool) -> Tile {
  let v = cols12(row, i32(x0 + j0) - i32(PL), bias, inside);
  var t = t0;
  t = shifted(t, grads10(drow, o0, x0), v, 0u);
  t = shifted(t, grads10(drow, o0, x0 + 1u), v, 1u);
  t = shifted(t, grads10(drow, o0, x0 + 2u), v, 2u);
  t = shifted(t, grads10(drow, o0, x0 + 3u), v, 3u);
  t = shifted(t, grads10(drow, o0, x0 + 4u), v, 4u);
  t = shifted(t, grads10(drow, o0, x0 + 5u), v, 5u);
  t = shifted(t, grads10(drow, o0, x0 + 6u), v, 6u);
  t = shifted(t, grads10(drow, o0, x0 + 7u), v, 7u);
  return t;
}

// Stride SW > 1: adds output columns x0..x0+7 of one row, loading each one's JB inputs.
fn stridedColumn(t: Tile, row: u32, drow: u32, o0: u32, x: u32, j0: u32, bias: bool,
                 inside: bool) -> Tile {
  let col = i32(x * SW + j0) - i32(PL);
  let hi = select(0.0, load4(row, col + 4, bias, inside).x, JB > 4u);
  return fma10x5(t, grads10(drow, o0, x), load4(row, col, bias, inside), hi);
}

fn stridedRowPass(t0: Tile, row: u32, drow: u32, o0: u32, x0: u32, j0: u32, bias: bool,
                  inside: bool) -> Tile {
  var t = stridedColumn(t0, row, drow, o0, x0, j0, bias, inside);
  t = stridedColumn(t, row, drow, o0, x0 + 1u, j0, bias, inside);
  t = stridedColumn(t, row, drow, o0, x0 + 2u, j0, bias, inside);
  t = stridedColumn(t, row, drow, o0, x0 + 3u, j0, bias, inside);
  t = stridedColumn(t, row, drow, o0, x0 + 4u, j0, bias, inside);
  t = stridedColumn(t, row, drow, o0, x0 + 5u, j0, bias, inside);
  t = stridedColumn(t, row, drow, o0, x0 + 6u, j0, bias, inside);
  return stridedColumn(t, row, drow, o0, x0 + 7u, j0, bias, inside);
}

// partial[e .. e+4] = (lo, hi), the first `ncols` of them.
fn store5(e: u32, lo: vec4f, hi: f32, ncols: u32) {
  if (ncols >= 5u) {
    partial[e] = lo.x; partial[e + 1u] = lo.y; partial[e + 2u] = lo.z; partial[e + 3u] = lo.w;
    partial[e + 4u] = hi;
  } else {
    let v = array<f32, 4>(lo.x, lo.y, lo.z, lo.w);
    for (var k = 0u; k < ncols; k++) { partial[e + k] = v[k]; }
  }
}

// partial[s, o0 + r, c, i, j0 ..] = t[r]: rows past O and columns past KW are not stored.
fn storeTile(t: Tile, e: u32, rows: u32, ncols: u32) {
  let step = C * KH * KW;
  store5(e, t.l0, t.h0, ncols);
  if (rows > 1u) { store5(e + step, t.l1, t.h1, ncols); }
  if (rows > 2u) { store5(e + 2u * step, t.l2, t.h2, ncols); }
  if (rows > 3u) { store5(e + 3u * step, t.l3, t.h3, ncols); }
  if (rows > 4u) { store5(e + 4u * step, t.l4, t.h4, ncols); }
  if (rows > 5u) { store5(e + 5u * step, t.l5, t.h5, ncols); }
  if (rows > 6u) { store5(e + 6u * step, t.l6, t.h6, ncols); }
  if (rows > 7u) { store5(e + 7u * step, t.l7, t.h7, ncols); }
  if (rows > 8u) { store5(e + 8u * step, t.l8, t.h8, ncols); }
  if (rows > 9u) { store5(e + 9u * step, t.l9, t.h9, ncols); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x * WG + lid;
  let jblocks = (KW + JB - 1u) / JB;
  if (g > C * KH * jblocks) { return; } // past the bias lane
  let j0 = (g % jblocks) * JB;
  let i = (g / jblocks) % KH;
  let c = g / (jblocks * KH);
  let o0 = wid.y * OB;
  let s = wid.z;
  let bias = c >= C; // this lane sums dOut: its input is ones
  let slice = (params.count + S - 1u) / S;
  let n1 = min((s + 1u) * slice, params.count);
  var t: Tile; // t[r][col] = partial[s, o0 + r, c, i, j0 + col]
  for (var n = s * slice; n < n1; n++) {
    for (var y = 0u; y < OH; y++) {
      let r = i32(y * SH + i) - i32(PT); // input row (a padding row reads zeros)
      let inside = r >= 0 && r < i32(H);
      let row = ((n * C + min(c, C - 1u)) * H + u32(clamp(r, 0, i32(H) - 1))) * W;
      let drow = (n * O * OH + y) * OW;
      for (var x0 = 0u; x0 < OW; x0 += 8u) {
        if (SW == 1u) {
          t = rowPass(t, row, drow, o0, x0, j0, bias, inside);
        } else {
          t = stridedRowPass(t, row, drow, o0, x0, j0, bias, inside);
        }
      }
    }
  }
  let rows = min(O - o0, OB);
  let step = C * KH * KW;
  let sliceBase = s * (O * step + O);
  if (bias) { // partial[s, O * step + o0 + r] = column 0
    let e = sliceBase + O * step + o0;
    partial[e] = t.l0.x;
    if (rows > 1u) { partial[e + 1u] = t.l1.x; }
    if (rows > 2u) { partial[e + 2u] = t.l2.x; }
    if (rows > 3u) { partial[e + 3u] = t.l3.x; }
    if (rows > 4u) { partial[e + 4u] = t.l4.x; }
    if (rows > 5u) { partial[e + 5u] = t.l5.x; }
    if (rows > 6u) { partial[e + 6u] = t.l6.x; }
    if (rows > 7u) { partial[e + 7u] = t.l7.x; }
    if (rows > 8u) { partial[e + 8u] = t.l8.x; }
    if (rows > 9u) { partial[e + 9u] = t.l9.x; }
    return;
  }
  let e = sliceBase + ((o0 * C + c) * KH + i) * KW + j0;
  storeTile(t, e, rows, min(KW - j0, JB));
}
