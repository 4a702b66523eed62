// conv2d_backward_weight.wgsl: gradient of a valid stride-1 cross-correlation w.r.t. its weights.
//   dw[o,c,i,j] = sum_{n,y,x} dOut[n,o,y,x] * in[n,c,y+i,x+j]
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1. NCHW, row-major.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 in [N,C,H,W], 3 dw [O,C,KH,KW] (overwritten).
// CPU twin: the dw part of conv2dBackward in cpu/conv2d.ts.
// Dispatch: one workgroup per dw value; its 64 invocations split the sum over (n, y, x)
//   and add their partial sums in workgroup memory (a fixed order: deterministic).
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
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = wid.z * nwg.x + wid.x;
  let j = k % KW;
  let i = (k / KW) % KH;
  let c = (k / (KW * KH)) % C;
  let o = k / (KW * KH * C);
  var sum = 0.0;
  if (o < O) {
    for (var t = lid; t < params.count * OH * OW; t += 64u) {
      let xo = t % OW;
      let y = (t / OW) % OH;
      let n = t / (OW * OH);
      sum += dOut[((n * O + o) * OH + y) * OW + xo] * inp[((n * C + c) * H + y + i) * W + xo + j];
    }
  }
  partial[lid] = sum;
  for (var s = 32u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { partial[lid] += partial[lid + s]; }
  }
  if (lid == 0u && o < O) { dw[k] = partial[0]; }
}
