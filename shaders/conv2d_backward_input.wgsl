// conv2d_backward_input.wgsl: gradient of a stride-1 cross-correlation with zero padding
// w.r.t. its input (a strided one runs it on its dOut dilated by conv2d_dilate.wgsl).
//   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,p+PT-i,q+PL-j] * w[o,c,i,j]   (0 <= p+PT-i < OH,
//   0 <= q+PL-j < OW)
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, PT / PL zero rows above / columns left of the input,
//   OH = H+PT+PB-KH+1, OW = W+PL+PR-KW+1 (PB, PR implied). NCHW, row-major.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 w [O,C,KH,KW], 3 dx [N,C,H,W] (overwritten).
// CPU twin: the dx part of conv2dBackward in cpu/conv2d.ts.
// Dispatch: register-tiled (see conv2d_forward.wgsl). Each invocation computes a Row: 4 input
//   channels x 12 consecutive columns q0..q0+11 of one row p of one image. The 64 invocations
//   of a workgroup are 64 images; workgroup_id.y picks (channel block, row, column block), so
//   the weights, the loop bounds and the branches are uniform. Per dOut row and 5 kernel
//   columns j0..j0+4, the tile needs dOut columns q0-j0-4 .. q0-j0+11: the middle 8 always
//   (40 products), the 4 on each side only where they exist (10 products each), so the zero
//   padding around dOut is not computed where a whole side is outside it (LeNet's conv1:
//   W = 12, OW = 8, only the middle). Unrolled by hand.
//   Grid: x (and z) over ceil(N / 64), y over ceil(C/4) * H * ceil(W/12).

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // H + PT + PB - KH + 1
override OW: u32; // W + PL + PR - KW + 1
override PT: u32 = 0u;
override PL: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// dx columns q0+k, k = 0..11, each a vec4f over channels c0..c0+3.
struct Row {
  k0: vec4f, k1: vec4f, k2: vec4f, k3: vec4f, k4: vec4f, k5: vec4f,
  k6: vec4f, k7: vec4f, k8: vec4f, k9: vec4f, k10: vec4f, k11: vec4f,
}

// The weights w[o, c0..c0+3, i, j0+j] of kernel columns j = 0..4 (0 where j0+j >= KW).
struct Weights { w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f, w4: vec4f }

// w[o, c0..c0+3, k] (k = i*KW + j); channels past C read the last weight.
fn weights4(o: u32, c0: u32, k: u32) -> vec4f {
  let last = O * C * KH * KW - 1u;
  let e = (o * C + c0) * KH * KW + k;
  let s = KH * KW;
  return vec4f(w[min(e, last)], w[min(e + s, last)], w[min(e + 2u * s, last)],
    w[min(e + 3u * s, last)]);
}

fn weights(o: u32, c0: u32, i: u32, j0: u32) -> Weights {
  let k = i * KW + j0;
  return Weights(
    weights4(o, c0, k),
    select(vec4f(0.0), weights4(o, c0, k + 1u), j0 + 1u < KW),
    select(vec4f(0.0), weights4(o, c0, k + 2u), j0 + 2u < KW),
    select(vec4f(0.0), weights4(o, c0, k + 3u), j0 + 3u < KW),
    select(vec4f(0.0), weights4(o, c0, k + 4u), j0 + 4u < KW),
  );
}

// dOut columns col..col+3 of row `row` (offset of the row's first element), 0 outside [0, OW).
fn load4(row: u32, col: i32) -> vec4f {
  let k = vec4i(col) + vec4i(0, 1, 2, 3);
  let v = vec4f(dOut[row + u32(clamp(k.x, 0, i32(OW) - 1))], dOut[row + u32(clamp(k.y, 0, i32(OW) - 1))],
                dOut[row + u32(clamp(k.z, 0, i32(OW) - 1))], dOut[row + u32(clamp(k.w, 0, i32(OW) - 1))]);
  return select(vec4f(0.0), v, (k >= vec4i(0)) & (k < vec4i(i32(OW))));
}

// Column k takes d[k - j] * w_j, d = (a, b) the 8 dOut columns q0-j0 .. q0-j0+7.
fn middle(t: Row, a: vec4f, b: vec4f, w: Weights) -> Row {
  return Row(
    t.k0 + a.x * w.w0,
    t.k1 + a.y * w.w0 + a.x * w.w1,
    t.k2 + a.z * w.w0 + a.y * w.w1 + a.x * w.w2,
    t.k3 + a.w * w.w0 + a.z * w.w1 + a.y * w.w2 + a.x * w.w3,
    t.k4 + b.x * w.w0 + a.w * w.w1 + a.z * w.w2 + a.y * w.w3 + a.x * w.w4,
    t.k5 + b.y * w.w0 + b.x * w.w1 + a.w * w.w2 + a.z * w.w3 + a.y * w.w4,
    t.k6 + b.z * w.w0 + b.y * w.w1 + b.x * w.w2 + a.w * w.w3 + a.z * w.w4,
    t.k7 + b.w * w.w0 + b.z * w.w1 + b.y * w.w2 + b.x * w.w3 + a.w * w.w4,
    t.k8 + b.w * w.w1 + b.z * w.w2 + b.y * w.w3 + b.x * w.w4,
    t.k9 + b.w * w.w2 + b.z * w.w3 + b.y * w.w4,
    t.k10 + b.w * w.w3 + b.z * w.w4,
    t.k11 + b.w * w.w4,
  );
}

// The same for d = the 4 dOut columns q0-j0-4 .. q0-j0-1 (they reach columns 0..3).
fn left(t: Row, d: vec4f, w: Weights) -> Row {
  var r = t;
  r.k0 = t.k0 + d.w * w.w1 + d.z * w.w2 + d.y * w.w3 + d.x * w.w4;
  r.k1 = t.k1 + d.w * w.w2 + d.z * w.w3 + d.y * w.w4;
  r.k2 = t.k2 + d.w * w.w3 + d.z * w.w4;
  r.k3 = t.k3 + d.w * w.w4;
  return r;
}

// The same for d = the 4 dOut columns q0-j0+8 .. q0-j0+11 (they reach columns 8..11).
fn right(t: Row, d: vec4f, w: Weights) -> Row {
  var r = t;
  r.k8 = t.k8 + d.x * w.w0;
  r.k9 = t.k9 + d.y * w.w0 + d.x * w.w1;
  r.k10 = t.k10 + d.z * w.w0 + d.y * w.w1 + d.x * w.w2;
  r.k11 = t.k11 + d.w * w.w0 + d.z * w.w1 + d.y * w.w2 + d.x * w.w3;
  return r;
}

// dx[e .. e+11] = (a, b, c), the first `ncols` of them.
fn store12(e: u32, a: vec4f, b: vec4f, c: vec4f, ncols: u32) {
  if (ncols >= 12u) {
    dx[e] = a.x; dx[e + 1u] = a.y; dx[e + 2u] = a.z; dx[e + 3u] = a.w;
    dx[e + 4u] = b.x; dx[e + 5u] = b.y; dx[e + 6u] = b.z; dx[e + 7u] = b.w;
    dx[e + 8u] = c.x; dx[e + 9u] = c.y; dx[e + 10u] = c.z; dx[e + 11u] = c.w;
  } else {
    let v = array<f32, 12>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w);
    for (var k = 0u; k < ncols; k++) { dx[e + k] = v[k]; }
  }
}

// Channel r of the row: dx[n, c0 + r, p, q0 ..] at e.
fn storeChannel(e: u32, t: Row, r: u32, ncols: u32) {
  store12(e, vec4f(t.k0[r], t.k1[r], t.k2[r], t.k3[r]), vec4f(t.k4[r], t.k5[r], t.k6[r], t.k7[r]),
          vec4f(t.k8[r], t.k9[r], t.k10[r], t.k11[r]), ncols);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.z * nwg.x + wid.x) * 64u + lid;
  let qblocks = (W + 11u) / 12u;
  let q0 = (wid.y % qblocks) * 12u;
  let p = (wid.y / qblocks) % H;
  let c0 = (wid.y / (qblocks * H)) * 4u;
  if (n >= params.count) { return; }
  var t: Row; // t.k[r] = dx[n, c0 + r, p, q0 + k]
  // kernel rows i whose dOut row pp-i exists (pp = p + PT, the row in the padded input):
  // max(0, pp-OH+1) <= i <= min(KH-1, pp)
  let pp = p + PT;
  let i0 = u32(max(i32(pp) - i32(OH) + 1, 0));
  let i1 = min(KH - 1u, pp);
  for (var o = 0u; o < O; o++) {
    for (var i = i0; i <= i1; i++) {
      let row = ((n * O + o) * OH + pp - i) * OW;
      for (var j0 = 0u; j0 < KW; j0 += 5u) {
        let x = i32(q0 + PL) - i32(j0); // dOut column of tile column 0 and kernel column j0
        let wj = weights(o, c0, i, j0);
        t = middle(t, load4(row, x), load4(row, x + 4), wj);
        if (x > 0) { t = left(t, load4(row, x - 4), wj); }
        if (x + 8 < i32(OW)) { t = right(t, load4(row, x + 8), wj); }
      }
    }
  }
  // dx[n, c0 + r, p, q0 ..]: channels past C and columns past W are not stored
  let e = ((n * C + c0) * H + p) * W + q0;
  let ncols = W - q0;
  let rows = min(C - c0, 4u);
  storeChannel(e, t, 0u, ncols);
  if (rows > 1u) { storeChannel(e + H * W, t, 1u, ncols); }
  if (rows > 2u) { storeChannel(e + 2u * H * W, t, 2u, ncols); }
  if (rows > 3u) { storeChannel(e + 3u * H * W, t, 3u, ncols); }
}
