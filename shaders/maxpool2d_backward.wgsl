// maxpool2d_backward.wgsl: gradient of non-overlapping max pooling. Each output's gradient goes
// to the FIRST maximum of its window in row-major order (strict >); every other input gets 0.
//   dx[n,c,p,q] = dOut[n,c,p/PH,q/PW] if (p,q) is that first maximum, else 0
// Letters: N batch (params.count), C channels, H x W input, PH x PW window (= stride),
//   OH x OW output (see maxpool2d_forward.wgsl). Inputs outside every window get 0.
// Bindings: 0 params (count), 1 dOut [N,C,OH,OW], 2 in [N,C,H,W] (forward input),
//   3 dx [N,C,H,W] (overwritten).
// CPU twin: maxPool2dBackward in cpu/maxpool2d.ts.
// Dispatch: one invocation per window (output value): it finds the window's first maximum and
//   writes every dx value the window owns. The last window of a row or column also owns the
//   inputs past it (ignoreBorder), which get 0. Linear index over (x, z) workgroups of 64.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

override C: u32;
override H: u32;
override W: u32;
override PH: u32;
override PW: u32;
override OH: u32;
override OW: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * OH * OW) { return; }
  let xo = k % OW;
  let y = (k / OW) % OH;
  let base = (k / (OW * OH)) * H * W;
  // the window, and the region this invocation writes (to H / W for the last window)
  let r0 = y * PH;
  let c0 = xo * PW;
  let r1 = min(r0 + PH, H);
  let c1 = min(c0 + PW, W);
  let rEnd = select(r1, H, y == OH - 1u);
  let cEnd = select(c1, W, xo == OW - 1u);
  var best = base + r0 * W + c0;
  for (var r = r0; r < r1; r++) {
    for (var q = c0; q < c1; q++) {
      let m = base + r * W + q;
      if (inp[m] > inp[best]) { best = m; }
    }
  }
  let g = dOut[k];
  for (var r = r0; r < rEnd; r++) {
    for (var q = c0; q < cEnd; q++) {
      let m = base + r * W + q;
      dx[m] = select(0.0, g, m == best);
    }
  }
}
