// bias_backward.wgsl: gradient of a per-channel bias, the sum of dOut over batch and positions.
//   db[k] = sum_{n,p} dOut[n,k,p]
// Letters: N batch (params.count), K channels (conv: output maps; dense: output features),
//   P positions per channel (conv: OH*OW; dense: 1).
// CPU twin: the db part of conv2dBackward (cpu/conv2d.ts), of denseBackward (cpu/dense.ts)
//   and biasBackward (cpu/bias.ts).
// Dispatch: one workgroup per k; its 64 invocations split the sum and add their partial sums
//   in workgroup memory (a fixed order: deterministic).

override K: u32;
override P: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N,K,P]
@group(0) @binding(2) var<storage, read_write> db: array<f32>; // [K], overwritten

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = wid.z * nwg.x + wid.x;
  var sum = 0.0;
  if (k < K) {
    for (var t = lid; t < params.count * P; t += 64u) {
      sum += dOut[((t / P) * K + k) * P + t % P];
    }
  }
  partial[lid] = sum;
  for (var s = 32u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { partial[lid] += partial[lid + s]; }
  }
  if (lid == 0u && k < K) { db[k] = partial[0]; }
}
