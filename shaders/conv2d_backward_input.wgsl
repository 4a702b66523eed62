// conv2d_backward_input.wgsl: gradient of a valid stride-1 cross-correlation w.r.t. its input.
//   dx[n,c,p,q] = sum_{o,i,j} dOut[n,o,p-i,q-j] * w[o,c,i,j]   (0 <= p-i < OH, 0 <= q-j < OW)
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1. NCHW, row-major.
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 w [O,C,KH,KW], 3 dx [N,C,H,W] (overwritten).
// CPU twin: the dx part of conv2dBackward in cpu/conv2d.ts.
// Dispatch: one invocation per dx value, linear index over (x, z) workgroups of 64.
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

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * H * W) { return; }
  let q = i32(k % W);
  let p = i32((k / W) % H);
  let c = (k / (W * H)) % C;
  let n = k / (W * H * C);
  let i0 = max(0, p - i32(OH) + 1);
  let i1 = min(i32(KH) - 1, p);
  let j0 = max(0, q - i32(OW) + 1);
  let j1 = min(i32(KW) - 1, q);
  var sum = 0.0;
  for (var o = 0u; o < O; o++) {
    for (var i = i0; i <= i1; i++) {
      let drow = i32(((n * O + o) * OH) * OW) + (p - i) * i32(OW) + q;
      let wrow = i32(((o * C + c) * KH) * KW) + i * i32(KW);
      for (var j = j0; j <= j1; j++) {
        sum += dOut[drow - j] * w[wrow + j];
      }
    }
  }
  dx[k] = sum;
}
