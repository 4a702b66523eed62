// load_batch.wgsl: expands a batch of byte samples into floats, x = byte * scale.
//   x[k] = f32(byte[byte_offset + k]) * scale,  k < N * SAMPLE
//   (byte m is bits 8*(m%4).. of word m/4: 4 bytes per u32, little-endian)
// Letters: N batch (params.count), SAMPLE values per sample.
// CPU twin: the byte branch of hostBatch in src/backends/host.ts (images[i] * scale).
// Dispatch: one invocation per value, linear index over (x, z) workgroups of 64.

override SAMPLE: u32;

@group(0) @binding(0) var<uniform> params: Params; // count, byte_offset, scale
@group(0) @binding(1) var<storage, read> bytes: array<u32>; // the batch's bytes, packed
@group(0) @binding(2) var<storage, read_write> x: array<f32>; // [N,SAMPLE], written

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let k = (wid.z * nwg.x + wid.x) * 64u + lid;
  if (k >= params.count * SAMPLE) { return; }
  let m = params.byte_offset + k;
  let byte = (bytes[m / 4u] >> (8u * (m % 4u))) & 0xffu;
  x[k] = f32(byte) * params.scale;
}
