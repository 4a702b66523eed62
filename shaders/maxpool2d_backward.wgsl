// maxpool2d_backward.wgsl: gradient of max pooling with strides. Each output's gradient goes
// to the FIRST maximum of its window in row-major order (strict >), or with TIES = 1 (Theano's
// MaxPoolGrad) to EVERY element of the window equal to its maximum; an input gets the sum of
// the gradients of the windows it receives from (0 if none).
//   TIES = 0: dx[n,c,p,q] = sum_{(y,x): (p,q) = first argmax of window (y,x)} dOut[n,c,y,x]
//   TIES = 1: dx[n,c,p,q] = sum_{(y,x): window (y,x) holds (p,q), in = its max} dOut[n,c,y,x]
// Letters: N batch (params.count), C channels, H x W input, PH x PW window, SH x SW stride,
//   OH x OW output (see maxpool2d_forward.wgsl).
// CPU twin: maxPool2dBackward in cpu/maxpool2d.ts.
// Dispatch, deterministic and without atomics, in one of two ways (maxPool2dBackward in
//   src/backends/webgpu/kernels.ts picks the same one):
//   - windows apart (SH >= PH and SW >= PW, e.g. the tutorial's 2x2 stride 2): one
//     invocation per window; it finds the window's first maximum and writes every dx value
//     it owns: rows y*SH .. (y+1)*SH-1 (to H-1 for the last window), columns likewise, so
//     the inputs between and past the windows get 0.
//   - overlapping windows (or none at all): one invocation per input; it visits the windows
//     that contain it in row-major order, recomputes each one's first maximum and adds the
//     gradients of those it is the maximum of (the CPU twin's order of additions).
//   Linear index over (x, z) workgroups of 64.

override C: u32;
override H: u32;
override W: u32;
override PH: u32;
override PW: u32;
override SH: u32;
override SW: u32;
override OH: u32;
override OW: u32;
override TIES: u32; // 0: the first maximum, 1: all of them

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,C,OH,OW]
@group(0) @binding(2) var<storage, read> inp: array<f32>; // [N,C,H,W], the forward input
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // [N,C,H,W], overwritten

// Flat index of the first maximum of window (y, xo) of the plane at `base`.
fn argmax(base: u32, y: u32, xo: u32) -> u32 {
  let r0 = y * SH;
  let c0 = xo * SW;
  var best = base + r0 * W + c0;
  var top = inp[best];
  for (var r = r0; r < min(r0 + PH, H); r++) {
    for (var q = c0; q < min(c0 + PW, W); q++) {
      let m = base + r * W + q;
      let v = inp[m];
      if (v > top) {
        best = m;
        top = v;
      }
    }
  }
  return best;
}

// One invocation per window (windows apart): writes the region the window owns.
fn scatter(k: u32) {
  if (k >= params.count * C * OH * OW) { return; }
  let ow = max(OW, 1u); // an empty output (H < PH with ignoreBorder) must still compile
  let xo = k % ow;
  let y = (k / ow) % max(OH, 1u);
  let base = (k / (ow * max(OH, 1u))) * H * W;
  let best = argmax(base, y, xo);
  let top = inp[best];
  let rEnd = select((y + 1u) * SH, H, y == OH - 1u);
  let cEnd = select((xo + 1u) * SW, W, xo == OW - 1u);
  let g = dOut[k];
  for (var r = y * SH; r < rEnd; r++) {
    for (var q = xo * SW; q < cEnd; q++) {
      let m = base + r * W + q;
      dx[m] = select(0.0, g, m == best || (TIES == 1u && inp[m] == top));
    }
  }
}

// One invocation per input (overlapping windows): gathers from the windows containing it.
fn gather(k: u32) {
  if (k >= params.count * C * H * W) { return; }
  let q = k % W;
  let p = (k / W) % H;
  let nc = k / (W * H);
  let base = nc * H * W;
  // windows y with y*SH <= p < y*SH + PH, y < OH (likewise x)
  let y0 = select(0u, (p - PH) / SH + 1u, p >= PH);
  let x0 = select(0u, (q - PW) / SW + 1u, q >= PW);
  let y1 = min(p / SH + 1u, OH);
  let x1 = min(q / SW + 1u, OW);
  var sum = 0.0;
  for (var y = y0; y < y1; y++) {
    for (var xo = x0; xo < x1; xo++) {
      let best = argmax(base, y, xo);
      if (best == k || (TIES == 1u && inp[k] == inp[best])) {
        sum += dOut[(nc * OH + y) * OW + xo];
      }
    }
  }
  dx[k] = sum;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (SH >= PH && SW >= PW && OH > 0u && OW > 0u) { scatter(k); } else { gather(k); }
}
