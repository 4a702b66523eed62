// sgd_update.wgsl: stochastic gradient descent step over every parameter at once (the
// parameters, gradients and momentum buffers each live in one buffer). Momentum is PyTorch's
// torch.optim.SGD (dampening 0, nesterov off): v is its momentum_buffer, zero at the start.
//   momentum == 0:  p[k] -= lr * g[k]                          (v untouched)
//   momentum > 0:   v[k] = momentum * v[k] + g[k];  p[k] -= lr * v[k]
// The non-finite check of a training step runs here, on the device: any updated p[k] whose
// exponent bits are all ones (NaN or +-Inf; tested on the bits, since GPU compilers may fold
// NaN comparisons away) sets bit 2 of `flag`; a non-finite loss (result[0]) sets bit 1. The
// flag is sticky until the executor reads it back (with the loss) and clears it.
// Letters: SIZE values (arrayLength of p).
// CPU twins: sgdUpdate and sgdMomentumUpdate in cpu/sgd.ts; firstNonFinite in src/validate.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

@group(0) @binding(0) var<uniform> params: Params; // lr, momentum
@group(0) @binding(1) var<storage, read> g: array<f32>; // [SIZE]
@group(0) @binding(2) var<storage, read_write> p: array<f32>; // [SIZE], updated
@group(0) @binding(3) var<storage, read_write> v: array<f32>; // [SIZE], momentum buffer, updated
@group(0) @binding(4) var<storage, read> result: array<f32, 2>; // [0]: the step's loss, read
@group(0) @binding(5) var<storage, read_write> flag: atomic<u32>; // atomically or-ed

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= arrayLength(&p)) { return; }
  if (k == 0u && non_finite(result[0])) { atomicOr(&flag, 1u); }
  var pk: f32;
  if (params.momentum > 0.0) {
    let vk = params.momentum * v[k] + g[k];
    v[k] = vk;
    pk = p[k] - params.lr * vk;
  } else {
    pk = p[k] - params.lr * g[k];
  }
  p[k] = pk;
  if (non_finite(pk)) { atomicOr(&flag, 2u); }
}
