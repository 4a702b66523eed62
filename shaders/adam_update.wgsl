// adam_update.wgsl: Adam step (PyTorch's torch.optim.Adam, or AdamW) over every parameter
// at once (parameters, gradients and both moments each live in one buffer).
//   g     = g[k] + l2 * p[k]                      (Adam's weight decay; 0 for AdamW)
//   m[k]  = beta1 * m[k] + (1 - beta1) * g;   v[k] = beta2 * v[k] + (1 - beta2) * g^2
//   p[k]  = p[k] * decay                          (AdamW: 1 - lr * weight decay; else 1)
//   p[k] -= lr * (m[k] * c1) / (sqrt(v[k] * c2) + epsilon)
// From the host, in doubles: 1 - beta1, 1 - beta2 (in float32, 1 - 0.999 is off by 1.3e-5
// relative), decay, and c1 = 1 / (1 - beta1^t), c2 = 1 / (1 - beta2^t) (adamCorrections).
// The non-finite check is sgd_update.wgsl's: a non-finite updated p[k] sets bit 2 of
// `flag`, a non-finite loss (result[0]) bit 1.
// Letters: SIZE values (arrayLength of p).
// CPU twins: adamUpdate in cpu/adam.ts; firstNonFinite in src/validate.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

@group(0) @binding(0) var<uniform> params: Params; // lr, beta1, beta2, one_minus_beta1/2,
                                                   // epsilon, l2, decay, c1, c2
@group(0) @binding(1) var<storage, read> g: array<f32>; // [SIZE]
@group(0) @binding(2) var<storage, read_write> p: array<f32>; // [SIZE], updated
@group(0) @binding(3) var<storage, read_write> m: array<f32>; // [SIZE], updated
@group(0) @binding(4) var<storage, read_write> v: array<f32>; // [SIZE], updated
@group(0) @binding(5) var<storage, read> result: array<f32, 2>; // [0]: the step's loss, read
@group(0) @binding(6) var<storage, read_write> flag: atomic<u32>; // atomically or-ed

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= arrayLength(&p)) { return; }
  if (k == 0u && non_finite(result[0])) { atomicOr(&flag, 1u); }
  let p0 = p[k];
  let gk = g[k] + params.l2 * p0;
  let mk = params.beta1 * m[k] + params.one_minus_beta1 * gk;
  let vk = params.beta2 * v[k] + params.one_minus_beta2 * gk * gk;
  m[k] = mk;
  v[k] = vk;
  let pk = p0 * params.decay - params.lr * (mk * params.c1) / (sqrt(vk * params.c2) + params.epsilon);
  p[k] = pk;
  if (non_finite(pk)) { atomicOr(&flag, 2u); }
}
