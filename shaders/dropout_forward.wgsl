// dropout_forward.wgsl: inverted dropout (PyTorch's torch.nn.Dropout in training mode), its
// keep bit drawn from the counter hash of cpu/dropout.ts, bit-identical on every backend.
//   key    = hash32(hash32(hash32(seed) ^ LAYER) ^ step)        (seed, step: params)
//   keep   = hash32(hash32(k) ^ key) >= THRESHOLD
//   out[k] = keep ? in[k] * SCALE : 0,  k < N * SIZE (the flat index in the batch tensor)
// Evaluation mode compiles the same kernel with THRESHOLD 0 and SCALE 1: the identity.
// Letters: N batch (params.count), SIZE values per sample; LAYER the layer's index in the
//   plan; THRESHOLD = dropoutThreshold(rate), SCALE = dropoutScale(rate).
// CPU twin: dropoutForward (and dropoutKey, dropoutKeep) in cpu/dropout.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override SIZE: u32;
override LAYER: u32;
override THRESHOLD: u32;
override SCALE: f32;

@group(0) @binding(0) var<uniform> params: Params; // count, seed, step
@group(0) @binding(1) var<storage, read> inp: array<f32>; // [N,SIZE]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N,SIZE]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * SIZE) { return; }
  let key = hash32(hash32(hash32(params.seed) ^ LAYER) ^ params.step);
  let keep = hash32(hash32(k) ^ key) >= THRESHOLD;
  out[k] = select(0.0, inp[k] * SCALE, keep);
}
