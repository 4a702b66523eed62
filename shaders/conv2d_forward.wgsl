// conv2d_forward.wgsl: valid 2-D cross-correlation, stride 1, plus bias.
//   out[n,o,y,x] = b[o] + sum_{c,i,j} in[n,c,y+i,x+j] * w[o,c,i,j]
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1. NCHW, row-major.
// Bindings: 0 params (count), 1 in [N,C,H,W], 2 w [O,C,KH,KW], 3 b [O], 4 out [N,O,OH,OW].
// CPU twin: conv2dForward in cpu/conv2d.ts.
// Dispatch: register-tiled. Each invocation computes OB output channels x XB consecutive
//   columns of one output row of one image: OB*XB sums, each weight load shared by XB
//   outputs, each input load by OB. The 64 invocations of a workgroup are 64 images, and
//   workgroup_id.y picks (channel block, row, column block): the weights and every loop
//   bound are the same in all invocations (uniform loads, no divergence on a CPU adapter).
//   Grid: x (and z) over ceil(N / 64), y over ceil(O/OB) * OH * ceil(OW/XB).
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override C: u32;
override H: u32;
override W: u32;
override O: u32;
override KH: u32;
override KW: u32;
override OH: u32; // H - KH + 1
override OW: u32; // W - KW + 1
const OB = 8u; // output channels per invocation
const XB = 8u; // output columns per invocation (two vec4)
const JB = 9u; // kernel columns per window load (XB + JB - 1 = 16 values)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.z * nwg.x + wid.x) * 64u + lid;
  let xblocks = (OW + XB - 1u) / XB;
  let x0 = (wid.y % xblocks) * XB;
  let y = (wid.y / xblocks) % OH;
  let o0 = (wid.y / (xblocks * OH)) * OB;
  if (n >= params.count) { return; }
  // acc[2r + h][t] = out[n, o0+r, y, x0 + 4h + t]
  var a0l = vec4f(0.0); var a0h = vec4f(0.0);
  var a1l = vec4f(0.0); var a1h = vec4f(0.0);
  var a2l = vec4f(0.0); var a2h = vec4f(0.0);
  var a3l = vec4f(0.0); var a3h = vec4f(0.0);
  var a4l = vec4f(0.0); var a4h = vec4f(0.0);
  var a5l = vec4f(0.0); var a5h = vec4f(0.0);
  var a6l = vec4f(0.0); var a6h = vec4f(0.0);
  var a7l = vec4f(0.0); var a7h = vec4f(0.0);
  var acc: array<vec4f, 16>;
  for (var c = 0u; c < C; c++) {
    for (var i = 0u; i < KH; i++) {
      let row = ((n * C + c) * H + y + i) * W;
      // The XB outputs need columns x0 .. x0+XB+KW-2 of the row: load each once into a
      // window (columns past the row, for a partial last block, are clamped and dropped).
      // Kernels wider than JB columns are taken JB columns at a time.
      for (var j0 = 0u; j0 < KW; j0 += JB) {
        var win: array<f32, 16>; // XB + JB - 1 = 16 values
        for (var t = 0u; t < min(XB + KW - j0 - 1u, 16u); t++) {
          win[t] = inp[row + min(x0 + j0 + t, W - 1u)];
        }
        for (var j = 0u; j < min(KW - j0, JB); j++) {
          let lo = vec4f(win[j], win[j + 1u], win[j + 2u], win[j + 3u]);
          let hi = vec4f(win[j + 4u], win[j + 5u], win[j + 6u], win[j + 7u]);
          let wb = ((o0 * C + c) * KH + i) * KW + j0 + j;
            let ws = C * KH * KW;
            let w0 = w[min(wb + 0u * ws, arrayLength(&w) - 1u)];
            let w1 = w[min(wb + 1u * ws, arrayLength(&w) - 1u)];
            let w2 = w[min(wb + 2u * ws, arrayLength(&w) - 1u)];
            let w3 = w[min(wb + 3u * ws, arrayLength(&w) - 1u)];
            let w4 = w[min(wb + 4u * ws, arrayLength(&w) - 1u)];
            let w5 = w[min(wb + 5u * ws, arrayLength(&w) - 1u)];
            let w6 = w[min(wb + 6u * ws, arrayLength(&w) - 1u)];
            let w7 = w[min(wb + 7u * ws, arrayLength(&w) - 1u)];
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
  acc[0] = a0l; acc[1] = a0h;
  acc[2] = a1l; acc[3] = a1h;
  acc[4] = a2l; acc[5] = a2h;
  acc[6] = a3l; acc[7] = a3h;
  acc[8] = a4l; acc[9] = a4h;
  acc[10] = a5l; acc[11] = a5h;
  acc[12] = a6l; acc[13] = a6h;
  acc[14] = a7l; acc[15] = a7h;
  for (var r = 0u; r < OB; r++) {
    let o = o0 + r;
    if (o >= O) { break; }
    let base = ((n * O + o) * OH + y) * OW + x0;
    for (var t = 0u; t < XB; t++) {
      if (x0 + t < OW) { out[base + t] = acc[2u * r + t / 4u][t % 4u] + b[o]; }
    }
  }
}
