// bias_forward.wgsl: a per-channel bias added to every value of its channel.
//   out[n,c,p] = in[n,c,p] + b[c]
// Letters: N batch (params.count), C channels, P values per channel of one sample.
// CPU twin: biasForward in cpu/bias.ts. (Its backward: dx = dOut is this kernel with a zero
//   bias; db is bias_backward.wgsl.)
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override C: u32;
override P: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> inp: array<f32>; // [N,C,P]
@group(0) @binding(2) var<storage, read> b: array<f32>; // [C]
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [N,C,P]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * C * P) { return; }
  out[k] = inp[k] + b[(k / P) % C];
}
