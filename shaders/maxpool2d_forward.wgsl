// maxpool2d_forward.wgsl: max pooling with strides (Theano's max_pool_2d when the stride
// equals the window; overlapping windows when it is smaller).
//   out[n,c,y,x] = max_{i<PH, j<PW, inside the image} in[n,c,y*SH+i,x*SW+j]
// Letters: N batch (params.count), C channels, H x W input, PH x PW window, SH x SW stride,
//   OH x OW output (poolOutputSize in src/shapes.ts: ignoreBorder drops partial windows,
//   else they are kept). The first maximum in row-major order is taken (strict >), as the
//   backward pass assumes.
// CPU twin: maxPool2dForward in cpu/maxpool2d.ts.
// Dispatch: one invocation per output, linear index over (x, z) workgroups of 64.

override C: u32;
override H: u32;
override W: u32;
override PH: u32;
override PW: u32;
override SH: u32;
override SW: u32;
override OH: u32;
override OW: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> inp: array<f32>; // [N,C,H,W]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N,C,OH,OW]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * OH * OW) { return; }
  let ow = max(OW, 1u); // an empty output (H < PH with ignoreBorder) must still compile
  let xo = k % ow;
  let y = (k / ow) % max(OH, 1u);
  let base = (k / (ow * max(OH, 1u))) * H * W;
  var best = inp[base + y * SH * W + xo * SW];
  for (var r = y * SH; r < min(y * SH + PH, H); r++) {
    for (var q = xo * SW; q < min(xo * SW + PW, W); q++) {
      let v = inp[base + r * W + q];
      best = select(best, v, v > best);
    }
  }
  out[k] = best;
}
