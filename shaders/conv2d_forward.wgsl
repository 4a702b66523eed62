// conv2d_forward.wgsl: valid 2-D cross-correlation, stride 1, plus bias.
//   out[n,o,y,x] = b[o] + sum_{c,i,j} in[n,c,y+i,x+j] * w[o,c,i,j]
// Letters: N batch (params.count), C input channels, H x W input, O output channels,
//   KH x KW kernel, OH = H-KH+1, OW = W-KW+1. NCHW, row-major.
// Bindings: 0 params (count), 1 in [N,C,H,W], 2 w [O,C,KH,KW], 3 b [O], 4 out [N,O,OH,OW].
// CPU twin: conv2dForward in cpu/conv2d.ts.
// Dispatch: one invocation per output, linear index over (x, z) workgroups of 64.
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
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * O * OH * OW) { return; }
  let xo = k % OW;
  let y = (k / OW) % OH;
  let o = (k / (OW * OH)) % O;
  let n = k / (OW * OH * O);
  var sum = b[o];
  for (var c = 0u; c < C; c++) {
    for (var i = 0u; i < KH; i++) {
      let row = ((n * C + c) * H + y + i) * W + xo;
      let wrow = ((o * C + c) * KH + i) * KW;
      for (var j = 0u; j < KW; j++) {
        sum += inp[row + j] * w[wrow + j];
      }
    }
  }
  out[k] = sum;
}
