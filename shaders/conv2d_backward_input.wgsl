// conv2d_backward_input.wgsl: gradient of a valid stride-1 cross-correlation w.r.t. its input.
//   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,p-i,q-j] * w[o,c,i,j]   (0 <= p-i < OH, 0 <= q-j < OW)
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1. NCHW, row-major.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 w [O,C,KH,KW], 3 dx [N,C,H,W] (overwritten).
// CPU twin: the dx part of conv2dBackward in cpu/conv2d.ts.
// Dispatch: register-tiled like conv2d_forward.wgsl (this is a correlation of the zero-padded
//   dOut with the flipped kernel). Each invocation computes a Tile: 8 input channels x 8
//   consecutive columns of one row of one image. The 64 invocations of a workgroup are 64
//   images; workgroup_id.y picks (channel block, row, column block), so the weights, the
//   loop bounds and the padding are uniform. Per dOut row, the 12 columns the tile needs are
//   loaded once (zero outside dOut) and reused by 5 kernel columns. Unrolled by hand, as
//   conv2d_forward.wgsl. Grid: x (and z) over ceil(N / 64), y over ceil(C/8) * H * ceil(W/8).
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // H - KH + 1
override OW: u32; // W - KW + 1

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

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

// The weights w[o, c0..c0+3, k] (k = i*KW + j); channels past C read the last weight.
fn weights4(o: u32, c0: u32, k: u32) -> vec4f {
  let last = O * C * KH * KW - 1u;
  let e = (o * C + c0) * KH * KW + k;
  let s = KH * KW;
  return vec4f(w[min(e, last)], w[min(e + s, last)], w[min(e + 2u * s, last)],
    w[min(e + 3u * s, last)]);
}

// dOut columns col..col+3 of row `row` (offset of the row's first element), 0 outside [0, OW).
fn load4(row: u32, col: i32) -> vec4f {
  let k = vec4i(col) + vec4i(0, 1, 2, 3);
  let v = vec4f(dOut[row + u32(clamp(k.x, 0, i32(OW) - 1))], dOut[row + u32(clamp(k.y, 0, i32(OW) - 1))],
                dOut[row + u32(clamp(k.z, 0, i32(OW) - 1))], dOut[row + u32(clamp(k.w, 0, i32(OW) - 1))]);
  return select(vec4f(0.0), v, k >= vec4i(0) & k < vec4i(i32(OW)));
}

// Adds kernel columns j0..j0+4 (those < KW) of kernel row k/KW for output channel o: tile
// column q0+t takes dOut column q0+t-j, so columns q0-j0-4 .. q0-j0+7 are loaded once as
// v0, v1, v2 and shifted.
fn rowPass(t0: Tile, row: u32, q0: u32, o: u32, c0: u32, k: u32, j0: u32) -> Tile {
  let q = i32(q0) - i32(j0);
  let v0 = load4(row, q - 4);
  let v1 = load4(row, q);
  let v2 = load4(row, q + 4);
  var t = fma8(t0, weights4(o, c0, k), weights4(o, c0 + 4u, k), v1, v2);
  if (j0 + 1u < KW) {
    t = fma8(t, weights4(o, c0, k + 1u), weights4(o, c0 + 4u, k + 1u),
             vec4f(v0.w, v1.xyz), vec4f(v1.w, v2.xyz));
  }
  if (j0 + 2u < KW) {
    t = fma8(t, weights4(o, c0, k + 2u), weights4(o, c0 + 4u, k + 2u),
             vec4f(v0.zw, v1.xy), vec4f(v1.zw, v2.xy));
  }
  if (j0 + 3u < KW) {
    t = fma8(t, weights4(o, c0, k + 3u), weights4(o, c0 + 4u, k + 3u),
             vec4f(v0.yzw, v1.x), vec4f(v1.yzw, v2.x));
  }
  if (j0 + 4u < KW) { t = fma8(t, weights4(o, c0, k + 4u), weights4(o, c0 + 4u, k + 4u), v0, v1); }
  return t;
}

// dx[e .. e+7] = (lo, hi), the first `ncols` of them.
fn store8(e: u32, lo: vec4f, hi: vec4f, ncols: u32) {
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
  let n = (wid.z * nwg.x + wid.x) * 64u + lid;
  let qblocks = (W + 7u) / 8u;
  let q0 = (wid.y % qblocks) * 8u;
  let p = (wid.y / qblocks) % H;
  let c0 = (wid.y / (qblocks * H)) * 8u;
  if (n >= params.count) { return; }
  var t: Tile; // t[r][col] = dx[n, c0 + r, p, q0 + col]
  // kernel rows i whose dOut row p-i exists: max(0, p-OH+1) <= i <= min(KH-1, p)
  let i0 = u32(max(i32(p) - i32(OH) + 1, 0));
  let i1 = min(KH - 1u, p);
  for (var o = 0u; o < O; o++) {
    for (var i = i0; i <= i1; i++) {
      let row = ((n * O + o) * OH + p - i) * OW;
      t = rowPass(t, row, q0, o, c0, i * KW, 0u);
      for (var j0 = 5u; j0 < KW; j0 += 5u) { t = rowPass(t, row, q0, o, c0, i * KW + j0, j0); }
    }
  }
  // dx[n, c0 + r, p, q0 ..]: rows past C and columns past W are not stored
  let e = ((n * C + c0) * H + p) * W + q0;
  let ncols = W - q0;
  let rows = min(C - c0, 8u);
  store8(e, t.l0, t.h0, ncols);
  if (rows > 1u) { store8(e + H * W, t.l1, t.h1, ncols); }
  if (rows > 2u) { store8(e + 2u * H * W, t.l2, t.h2, ncols); }
  if (rows > 3u) { store8(e + 3u * H * W, t.l3, t.h3, ncols); }
  if (rows > 4u) { store8(e + 4u * H * W, t.l4, t.h4, ncols); }
  if (rows > 5u) { store8(e + 5u * H * W, t.l5, t.h5, ncols); }
  if (rows > 6u) { store8(e + 6u * H * W, t.l6, t.h6, ncols); }
  if (rows > 7u) { store8(e + 7u * H * W, t.l7, t.h7, ncols); }
}
