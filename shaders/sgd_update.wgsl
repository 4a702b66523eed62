// sgd_update.wgsl: stochastic gradient descent step over every parameter at once (the
// parameters, gradients and velocities each live in one buffer).
//   momentum == 0:  p[k] -= lr * g[k]                          (v untouched)
//   momentum > 0:   v[k] = momentum * v[k] - lr * g[k];  p[k] += v[k]
// Letters: SIZE values (arrayLength of p).
// Bindings: 0 params (lr, momentum), 1 g [SIZE], 2 p [SIZE] (updated), 3 v [SIZE] (updated).
// CPU twins: sgdUpdate and sgdMomentumUpdate in cpu/sgd.ts.
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.
struct Params { count: u32, byte_offset: u32, scale: f32, lr: f32, momentum: f32, p0: u32, p1: u32, p2: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= arrayLength(&p)) { return; }
  if (params.momentum > 0.0) {
    let vk = params.momentum * v[k] - params.lr * g[k];
    v[k] = vk;
    p[k] += vk;
  } else {
    p[k] -= params.lr * g[k];
  }
}
