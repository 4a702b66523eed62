// maxpool2d_forward.wgsl: non-overlapping max pooling (Theano's max_pool_2d).
//   out[n,c,y,x] = max_{i<PH, j<PW, inside the image} in[n,c,y*PH+i,x*PW+j]
// Letters: N batch (params.count), C channels, H x W input, PH x PW window (= stride),
//   OH x OW output: floor(H/PH) x floor(W/PW) with ignoreBorder, else ceil (partial windows kept).
// Bindings: 0 params (count), 1 in [N,C,H,W], 2 out [N,C,OH,OW].
// CPU twin: maxPool2dForward in cpu/maxpool2d.ts.
// Dispatch: one invocation per output, linear index over (x, z) workgroups of 64.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override C: u32;
override H: u32;
override W: u32;
override PH: u32;
override PW: u32;
override OH: u32;
override OW: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * OH * OW) { return; }
  let xo = k % OW;
  let y = (k / OW) % OH;
  let nc = k / (OW * OH);
  let base = nc * H * W;
  var best = inp[base + y * PH * W + xo * PW];
  for (var r = y * PH; r < min(y * PH + PH, H); r++) {
    for (var q = xo * PW; q < min(xo * PW + PW, W); q++) {
      best = max(best, inp[base + r * W + q]);
    }
  }
  out[k] = best;
}
