// conv2d_backward_input.wgsl: gradient of a valid stride-1 cross-correlation w.r.t. its input.
//   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,p-i,q-j] * w[o,c,i,j]   (0 <= p-i < OH, 0 <= q-j < OW)
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1. NCHW, row-major.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 w [O,C,KH,KW], 3 dx [N,C,H,W] (overwritten).
// CPU twin: the dx part of conv2dBackward in cpu/conv2d.ts.
// Dispatch: register-tiled like conv2d_forward.wgsl (a correlation of dOut with the flipped
//   kernel): each invocation computes CB input channels x XB consecutive columns of one row
//   of one image; the 64 invocations of a workgroup are 64 images and workgroup_id.y picks
//   (channel block, row, column block), so weights, loop bounds and the zero padding outside
//   dOut are uniform. Grid: x (and z) over ceil(N / 64), y over ceil(C/CB) * H * ceil(W/XB).
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // H - KH + 1
override OW: u32; // W - KW + 1
const CB = 8u; // input channels per invocation
const XB = 8u; // columns per invocation (two vec4)
const JB = 9u; // kernel columns per window load (XB + JB - 1 = 16 values)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.z * nwg.x + wid.x) * 64u + lid;
  let qblocks = (W + XB - 1u) / XB;
  let q0 = (wid.y % qblocks) * XB;
  let p = (wid.y / qblocks) % H;
  let c0 = (wid.y / (qblocks * H)) * CB;
  if (n >= params.count) { return; }
  // a<r>l[t], a<r>h[t] = dx[n, c0+r, p, q0 + t], dx[n, c0+r, p, q0 + 4 + t]
  var a0l = vec4f(0.0); var a0h = vec4f(0.0);
  var a1l = vec4f(0.0); var a1h = vec4f(0.0);
  var a2l = vec4f(0.0); var a2h = vec4f(0.0);
  var a3l = vec4f(0.0); var a3h = vec4f(0.0);
  var a4l = vec4f(0.0); var a4h = vec4f(0.0);
  var a5l = vec4f(0.0); var a5h = vec4f(0.0);
  var a6l = vec4f(0.0); var a6h = vec4f(0.0);
  var a7l = vec4f(0.0); var a7h = vec4f(0.0);
  let last = arrayLength(&w) - 1u;
  for (var o = 0u; o < O; o++) {
    // rows p-i of dOut that exist: max(0, p-OH+1) <= i <= min(KH-1, p)
    for (var i = max(i32(p) - i32(OH) + 1, 0); i <= min(i32(KH) - 1, i32(p)); i++) {
      let row = ((n * O + o) * OH + p - u32(i)) * OW;
      for (var j0 = 0u; j0 < KW; j0 += JB) {
        let jn = min(KW - j0, JB);
        // win[u] = dOut column q0 + u - (j0 + jn - 1), zero outside [0, OW)
        var win: array<f32, 16>;
        for (var u = 0u; u < XB + jn - 1u; u++) {
          let col = i32(q0 + u) - i32(j0 + jn - 1u);
          let ok = col >= 0 && col < i32(OW);
          win[u] = select(0.0, dOut[row + u32(clamp(col, 0, i32(OW) - 1))], ok);
        }
        for (var jj = 0u; jj < jn; jj++) {
          // column q0 + t takes dOut column q0 + t - j, j = j0 + jj: win[t + jn - 1 - jj]
          let s = jn - 1u - jj;
          let lo = vec4f(win[s], win[s + 1u], win[s + 2u], win[s + 3u]);
          let hi = vec4f(win[s + 4u], win[s + 5u], win[s + 6u], win[s + 7u]);
          let wb = ((o * C + c0) * KH + u32(i)) * KW + j0 + jj;
          let w0 = w[min(wb + 0u * KH * KW, last)];
          let w1 = w[min(wb + 1u * KH * KW, last)];
          let w2 = w[min(wb + 2u * KH * KW, last)];
          let w3 = w[min(wb + 3u * KH * KW, last)];
          let w4 = w[min(wb + 4u * KH * KW, last)];
          let w5 = w[min(wb + 5u * KH * KW, last)];
          let w6 = w[min(wb + 6u * KH * KW, last)];
          let w7 = w[min(wb + 7u * KH * KW, last)];
          a0l += w0 * lo; a0h += w0 * hi;
          a1l += w1 * lo; a1h += w1 * hi;
          a2l += w2 * lo; a2h += w2 * hi;
          a3l += w3 * lo; a3h += w3 * hi;
          a4l += w4 * lo; a4h += w4 * hi;
          a5l += w5 * lo; a5h += w5 * hi;
          a6l += w6 * lo; a6h += w6 * hi;
          a7l += w7 * lo; a7h += w7 * hi;
        }
      }
    }
  }
  let acc = array<vec4f, 16>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h, a6l, a6h, a7l, a7h);
  for (var r = 0u; r < CB; r++) {
    let c = c0 + r;
    if (c >= C) { break; }
    let base = ((n * C + c) * H + p) * W + q0;
    for (var t = 0u; t < XB; t++) {
      if (q0 + t < W) { dx[base + t] = acc[2u * r + t / 4u][t % 4u]; }
    }
  }
}
