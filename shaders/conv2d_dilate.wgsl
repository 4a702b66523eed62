// conv2d_dilate.wgsl: spreads the output gradient of a strided convolution onto the grid of
// the stride-1 convolution with the same padding, zeros between, so that
// conv2d_backward_input.wgsl (stride 1) computes its dx.
//   d1[n,o,y1,x1] = dOut[n,o,y1/SH,x1/SW] if SH divides y1, SW divides x1 and the quotients
//   are < OH, OW; else 0
// Letters: N batch (params.count), O channels, SH x SW stride, OH x OW output of the strided
//   convolution, OH1 x OW1 output of the stride-1 one (H+PT+PB-KH+1, W+PL+PR-KW+1).
// Bindings: 0 params (count), 1 dOut [N,O,OH,OW], 2 d1 [N,O,OH1,OW1] (overwritten).
// CPU twin: the strided sums of conv2dBackward in cpu/conv2d.ts (dOut[y,x] meets
//   in[y*SH+i-PT, x*SW+j-PL], the stride-1 position y1 = y*SH).
// Dispatch: one invocation per d1 value, linear index over (x, z) workgroups of 64.

override O: u32;
override SH: u32;
override SW: u32;
override OH: u32;
override OW: u32;
override OH1: u32;
override OW1: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> d1: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * O * OH1 * OW1) { return; }
  let x1 = k % OW1;
  let y1 = (k / OW1) % OH1;
  let no = k / (OW1 * OH1);
  let y = y1 / SH;
  let x = x1 / SW;
  let hit = y * SH == y1 && x * SW == x1 && y < OH && x < OW;
  d1[k] = select(0.0, dOut[(no * OH + min(y, OH - 1u)) * OW + min(x, OW - 1u)], hit);
}
