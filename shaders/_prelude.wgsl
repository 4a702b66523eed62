// _prelude.wgsl: prepended to every kernel by shaders/embed.ts, after `struct Params` (which
// embed.ts generates from PARAMS_FIELDS in src/backends/webgpu/params.ts, the table that
// packs the block on the host). Kernels bind it as
//   @group(0) @binding(0) var<uniform> params: Params;
// and may call the helpers below.

// NaN or +-Inf, tested on the exponent bits (GPU compilers may fold NaN comparisons away).
// CPU twin: firstNonFinite in src/validate.ts.
fn non_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

// lowbias32 (C. Wellons), u32 arithmetic mod 2^32. CPU twin: hash32 in cpu/dropout.ts.
fn hash32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
