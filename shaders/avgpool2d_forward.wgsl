// avgpool2d_forward.wgsl: average pooling with strides; a partial window at the border
// (ignoreBorder false) is divided by the number of input values it covers (PyTorch's
// ceil_mode with padding 0). Global average pooling: PH x PW = H x W, OH = OW = 1.
//   out[n,c,y,x] = sum_{window} in[n,c,r,q] / count(y,x),
//   window rows y*SH .. min(y*SH+PH, H)-1, columns x*SW .. min(x*SW+PW, W)-1
// Letters: N batch (params.count), C channels, H x W input, PH x PW window, SH x SW stride,
//   OH x OW output (poolOutputSize in src/shapes.ts).
// CPU twin: avgPool2dForward in cpu/avgpool2d.ts.
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
  let r1 = min(y * SH + PH, H);
  let c1 = min(xo * SW + PW, W);
  var sum = 0.0;
  for (var r = y * SH; r < r1; r++) {
    for (var q = xo * SW; q < c1; q++) { sum += inp[base + r * W + q]; }
  }
  out[k] = sum / f32((r1 - y * SH) * (c1 - xo * SW));
}
