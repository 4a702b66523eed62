// conv2d_backward_input.wgsl: gradient of a cross-correlation with zero padding and stride
// w.r.t. its input.
//   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,y,x] * w[o,c,i,j]  over y*SH = p+PT-i, x*SW = q+PL-j,
//   0 <= y < OH, 0 <= x < OW
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, SH x SW stride, PT / PL zero rows above / columns left of the input,
//   OH = floor((H+PT+PB-KH)/SH)+1, OW likewise (PB, PR implied). NCHW, row-major.
// CPU twin: the dx part of conv2dBackward in cpu/conv2d.ts.
// Dispatch: register-tiled (see conv2d_forward.wgsl). Each invocation computes a Row: 4 input
//   channels x 12 consecutive columns q0..q0+11 of one row p of one image. The 64 invocations
//   of a workgroup are 64 images; workgroup_id.y picks (channel block, row, column block), so
//   the weights, the loop bounds and the branches are uniform. The kernel works on dOut
//   dilated by the stride (SW-1 zero columns between its columns, rows likewise: "virtual"
//   columns 0 .. (OW-1)*SW); rows of zeros are skipped, zero columns are masked loads.
//   Per dOut row and kernel columns j0..j0+4 (those < KW: nk of them), the tile needs
//   virtual dOut columns q0+PL-j0-4 .. q0+PL-j0+11: the middle 8 always (8 products per
//   kernel column), the 4 on each side only where they exist (up to 4 each), so the zero
//   padding around dOut is not computed where a whole side is outside it (LeNet's conv1:
//   W = 12, OW = 8, only the middle), and kernel columns past KW are not computed (their
//   branches fold when the kernel has at most 5 columns). Unrolled by hand.
//   Grid: x (and z) over ceil(N / 64), y over ceil(C/4) * H * ceil(W/12).

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
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,O,OH,OW]
@group(0) @binding(2) var<storage, read> w: array<f32>; // [O,C,KH,KW]
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // [N,C,H,W], overwritten

// dx columns q0+k, k = 0..11, each a vec4f over channels c0..c0+3.
struct Row {
  k0: vec4f, k1: vec4f, k2: vec4f, k3: vec4f, k4: vec4f, k5: vec4f,
  k6: vec4f, k7: vec4f, k8: vec4f, k9: vec4f, k10: vec4f, k11: vec4f,
}

// w[o, c0..c0+3, k] (k = i*KW + j); channels past C read the last weight.
fn weights4(o: u32, c0: u32, k: u32) -> vec4f {
  let last = O * C * KH * KW - 1u;
  let e = (o * C + c0) * KH * KW + k;
  let s = KH * KW;
  return vec4f(w[min(e, last)], w[min(e + s, last)], w[min(e + 2u * s, last)],
    w[min(e + 3u * s, last)]);
}

// Virtual (dilated) dOut columns col..col+3 of row `row` (offset of the row's first element):
// dOut[row + col/SW] where SW divides col and col/SW < OW, else 0.
fn load4(row: u32, col: i32) -> vec4f {
  let k = vec4i(col) + vec4i(0, 1, 2, 3);
  let x = clamp(k, vec4i(0), vec4i(i32((OW - 1u) * SW))) / vec4i(i32(SW));
  let v = vec4f(dOut[row + u32(x.x)], dOut[row + u32(x.y)], dOut[row + u32(x.z)],
                dOut[row + u32(x.w)]);
  var hit = (k >= vec4i(0)) & (k < vec4i(i32((OW - 1u) * SW + 1u)));
  if (SW > 1u) { hit = hit & (x * vec4i(i32(SW)) == k); }
  return select(vec4f(0.0), v, hit);
}

// Kernel column j (weights wj): tile column k takes virtual dOut column k - j of the middle
// 8, (a, b) = columns 0..7 (relative to q0+PL-j0).
fn middle(t: Row, a: vec4f, b: vec4f, wj: vec4f, j: u32) -> Row {
  var r = t;
  switch (j) {
    case 0u: {
      r.k0 += a.x * wj; r.k1 += a.y * wj; r.k2 += a.z * wj; r.k3 += a.w * wj;
      r.k4 += b.x * wj; r.k5 += b.y * wj; r.k6 += b.z * wj; r.k7 += b.w * wj;
    }
    case 1u: {
      r.k1 += a.x * wj; r.k2 += a.y * wj; r.k3 += a.z * wj; r.k4 += a.w * wj;
      r.k5 += b.x * wj; r.k6 += b.y * wj; r.k7 += b.z * wj; r.k8 += b.w * wj;
    }
    case 2u: {
      r.k2 += a.x * wj; r.k3 += a.y * wj; r.k4 += a.z * wj; r.k5 += a.w * wj;
      r.k6 += b.x * wj; r.k7 += b.y * wj; r.k8 += b.z * wj; r.k9 += b.w * wj;
    }
    case 3u: {
      r.k3 += a.x * wj; r.k4 += a.y * wj; r.k5 += a.z * wj; r.k6 += a.w * wj;
      r.k7 += b.x * wj; r.k8 += b.y * wj; r.k9 += b.z * wj; r.k10 += b.w * wj;
    }
    default: {
      r.k4 += a.x * wj; r.k5 += a.y * wj; r.k6 += a.z * wj; r.k7 += a.w * wj;
      r.k8 += b.x * wj; r.k9 += b.y * wj; r.k10 += b.z * wj; r.k11 += b.w * wj;
    }
  }
  return r;
}

// The same for d = the 4 virtual dOut columns -4..-1 (they reach tile columns 0..3).
fn left(t: Row, d: vec4f, wj: vec4f, j: u32) -> Row {
  var r = t;
  switch (j) {
    case 0u: {}
    case 1u: { r.k0 += d.w * wj; }
    case 2u: { r.k0 += d.z * wj; r.k1 += d.w * wj; }
    case 3u: { r.k0 += d.y * wj; r.k1 += d.z * wj; r.k2 += d.w * wj; }
    default: { r.k0 += d.x * wj; r.k1 += d.y * wj; r.k2 += d.z * wj; r.k3 += d.w * wj; }
  }
  return r;
}

// The same for d = the 4 virtual dOut columns 8..11 (they reach tile columns 8..11).
fn right(t: Row, d: vec4f, wj: vec4f, j: u32) -> Row {
  var r = t;
  switch (j) {
    case 0u: { r.k8 += d.x * wj; r.k9 += d.y * wj; r.k10 += d.z * wj; r.k11 += d.w * wj; }
    case 1u: { r.k9 += d.x * wj; r.k10 += d.y * wj; r.k11 += d.z * wj; }
    case 2u: { r.k10 += d.x * wj; r.k11 += d.y * wj; }
    case 3u: { r.k11 += d.x * wj; }
    default: {}
  }
  return r;
}

// Adds kernel column j (< nk) of a block: its middle, left and right parts.
fn column(t: Row, a: vec4f, b: vec4f, l: vec4f, rt: vec4f, sides: vec2<bool>, wj: vec4f,
          j: u32) -> Row {
  var r = middle(t, a, b, wj, j);
  if (sides.x) { r = left(r, l, wj, j); }
  if (sides.y) { r = right(r, rt, wj, j); }
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
  // kernel rows i whose virtual dOut row pp-i exists (pp = p + PT, the row in the padded
  // input): max(0, pp-VH+1) <= i <= min(KH-1, pp), VH = (OH-1)*SH+1; the row is a dOut row
  // when SH divides it
  let pp = p + PT;
  let i0 = u32(max(i32(pp) - i32((OH - 1u) * SH), 0));
  let i1 = min(KH - 1u, pp);
  let vw = i32((OW - 1u) * SW + 1u); // virtual dOut columns
  for (var o = 0u; o < O; o++) {
    for (var i = i0; i <= i1; i++) {
      let y = (pp - i) / SH;
      if (y * SH != pp - i) { continue; }
      let row = ((n * O + o) * OH + y) * OW;
      for (var j0 = 0u; j0 < KW; j0 += 5u) {
        let x = i32(q0 + PL) - i32(j0); // virtual dOut column of tile column 0, kernel column j0
        let nk = min(KW - j0, 5u);
        let a = load4(row, x);
        let b = load4(row, x + 4);
        let sides = vec2<bool>(x > 0, x + 8 < vw);
        var l = vec4f(0.0);
        var r = vec4f(0.0);
        if (sides.x) { l = load4(row, x - 4); }
        if (sides.y) { r = load4(row, x + 8); }
        let k = i * KW + j0;
        t = column(t, a, b, l, r, sides, weights4(o, c0, k), 0u);
        if (nk > 1u) { t = column(t, a, b, l, r, sides, weights4(o, c0, k + 1u), 1u); }
        if (nk > 2u) { t = column(t, a, b, l, r, sides, weights4(o, c0, k + 2u), 2u); }
        if (nk > 3u) { t = column(t, a, b, l, r, sides, weights4(o, c0, k + 3u), 3u); }
        if (nk > 4u) { t = column(t, a, b, l, r, sides, weights4(o, c0, k + 4u), 4u); }
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
