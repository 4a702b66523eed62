// avgpool2d_backward.wgsl: gradient of average pooling (see avgpool2d_forward.wgsl): every
// input gets, from each window that contains it, that window's gradient over its count.
//   dx[n,c,p,q] = sum_{windows (y,x) containing (p,q)} dOut[n,c,y,x] / count(y,x)
// Letters: N batch (params.count), C channels, H x W input, PH x PW window, SH x SW stride,
//   OH x OW output; count(y,x) = values of the window inside the input.
// CPU twin: avgPool2dBackward in cpu/avgpool2d.ts.
// Dispatch: one invocation per input, gathering from its windows in row-major order (no
//   atomics; the CPU twin's order of additions). Linear index over (x, z) workgroups of 64.

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
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,C,OH,OW]
@group(0) @binding(2) var<storage, read_write> dx: array<f32>; // [N,C,H,W], overwritten

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * H * W) { return; }
  let q = k % W;
  let p = (k / W) % H;
  let nc = k / (W * H);
  // windows y with y*SH <= p < y*SH + PH, y < OH (likewise x)
  let y0 = select(0u, (p - PH) / SH + 1u, p >= PH);
  let x0 = select(0u, (q - PW) / SW + 1u, q >= PW);
  let y1 = min(p / SH + 1u, OH);
  let x1 = min(q / SW + 1u, OW);
  var sum = 0.0;
  for (var y = y0; y < y1; y++) {
    let rows = min(y * SH + PH, H) - y * SH;
    for (var xo = x0; xo < x1; xo++) {
      let count = rows * (min(xo * SW + PW, W) - xo * SW);
      sum += dOut[(nc * OH + y) * OW + xo] / f32(count);
    }
  }
  dx[k] = sum;
}
