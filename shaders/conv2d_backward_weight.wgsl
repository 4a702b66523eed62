// conv2d_backward_weight.wgsl: gradient of a valid stride-1 cross-correlation w.r.t. its
// weights, first pass: partial sums over S slices of the batch (split_sum.wgsl adds them).
//   partial[s,o,c,i,j] = sum_{n in slice s, y, x} dOut[n,o,y,x] * in[n,c,y+i,x+j]
//   dw[o,c,i,j] = sum_s partial[s,o,c,i,j]
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1, S batch slices of ceil(N/S) images. NCHW.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 in [N,C,H,W], 3 partial [S,O,C,KH,KW]
//   (overwritten; slices past the batch get zeros).
// CPU twin: the dw part of conv2dBackward in cpu/conv2d.ts (with split_sum.wgsl).
// Dispatch: register-tiled. Each invocation owns one (s, c, i, block of JB kernel columns)
//   and OB output channels: OB x JB sums. The invocations of a workgroup differ in
//   (s, c, i, block) and share the OB channels (workgroup_id.y), so the dOut loads are
//   uniform; the input row is loaded XB + JB - 1 columns at a time, reused by XB x JB products.
//   Grid: x (and z) over ceil(S * C * KH * ceil(KW/JB) / 64), y over ceil(O / OB).
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
const OB = 8u; // output channels per invocation
const JB = 8u; // kernel columns per invocation (two vec4)
const XB = 8u; // output columns per window load (XB + JB - 1 = 15 values)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.z * nwg.x + wid.x) * 64u + lid;
  let jblocks = (KW + JB - 1u) / JB;
  let j0 = (g % jblocks) * JB;
  let i = (g / jblocks) % KH;
  let c = (g / (jblocks * KH)) % C;
  let s = g / (jblocks * KH * C);
  let o0 = wid.y * OB;
  if (s >= S) { return; }
  let slice = (params.count + S - 1u) / S;
  let n1 = min((s + 1u) * slice, params.count);
  // a<r>l[t], a<r>h[t] = partial[s, o0+r, c, i, j0 + t], partial[s, o0+r, c, i, j0 + 4 + t]
  var a0l = vec4f(0.0); var a0h = vec4f(0.0);
  var a1l = vec4f(0.0); var a1h = vec4f(0.0);
  var a2l = vec4f(0.0); var a2h = vec4f(0.0);
  var a3l = vec4f(0.0); var a3h = vec4f(0.0);
  var a4l = vec4f(0.0); var a4h = vec4f(0.0);
  var a5l = vec4f(0.0); var a5h = vec4f(0.0);
  var a6l = vec4f(0.0); var a6h = vec4f(0.0);
  var a7l = vec4f(0.0); var a7h = vec4f(0.0);
  let last = arrayLength(&dOut) - 1u;
  for (var n = s * slice; n < n1; n++) {
    for (var y = 0u; y < OH; y++) {
      let row = ((n * C + c) * H + y + i) * W + j0;
      let drow = ((n * O + o0) * OH + y) * OW;
      for (var x0 = 0u; x0 < OW; x0 += XB) {
        // win[u] = in[n, c, y+i, x0 + j0 + u]; columns past the row (j >= KW) clamped, dropped
        var win: array<f32, 15>;
        for (var u = 0u; u < XB + JB - 1u; u++) { win[u] = inp[row + min(x0 + u, W - 1u - j0)]; }
        for (var xx = 0u; xx < min(XB, OW - x0); xx++) {
          let lo = vec4f(win[xx], win[xx + 1u], win[xx + 2u], win[xx + 3u]);
          let hi = vec4f(win[xx + 4u], win[xx + 5u], win[xx + 6u], win[xx + 7u]);
          let e = drow + x0 + xx;
          let d0 = dOut[min(e + 0u * OH * OW, last)];
          let d1 = dOut[min(e + 1u * OH * OW, last)];
          let d2 = dOut[min(e + 2u * OH * OW, last)];
          let d3 = dOut[min(e + 3u * OH * OW, last)];
          let d4 = dOut[min(e + 4u * OH * OW, last)];
          let d5 = dOut[min(e + 5u * OH * OW, last)];
          let d6 = dOut[min(e + 6u * OH * OW, last)];
          let d7 = dOut[min(e + 7u * OH * OW, last)];
          a0l += d0 * lo; a0h += d0 * hi;
          a1l += d1 * lo; a1h += d1 * hi;
          a2l += d2 * lo; a2h += d2 * hi;
          a3l += d3 * lo; a3h += d3 * hi;
          a4l += d4 * lo; a4h += d4 * hi;
          a5l += d5 * lo; a5h += d5 * hi;
          a6l += d6 * lo; a6h += d6 * hi;
          a7l += d7 * lo; a7h += d7 * hi;
        }
      }
    }
  }
  let acc = array<vec4f, 16>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h, a6l, a6h, a7l, a7h);
  for (var r = 0u; r < OB; r++) {
    let o = o0 + r;
    if (o >= O) { break; }
    let base = (((s * O + o) * C + c) * KH + i) * KW + j0;
    for (var t = 0u; t < JB; t++) {
      if (j0 + t < KW) { partial[base + t] = acc[2u * r + t / 4u][t % 4u]; }
    }
  }
}
