// _tile8.wgsl: the 8 x 8 register tile of the GEMM-like kernels (dense_*, conv2d_forward),
// prepended (after the prelude) to every kernel whose header has the line
//   // Include: _tile8.wgsl
// by pipelineFor (src/backends/webgpu/device.ts); embedded by shaders/embed.ts as PARTS.tile8.

// 8 rows r x 8 columns: lr holds columns 0-3 of row r, hr columns 4-7.
struct Tile {
  l0: vec4f, l1: vec4f, l2: vec4f, l3: vec4f, l4: vec4f, l5: vec4f, l6: vec4f, l7: vec4f,
  h0: vec4f, h1: vec4f, h2: vec4f, h3: vec4f, h4: vec4f, h5: vec4f, h6: vec4f, h7: vec4f,
}

// t[r][col] += a[r] * (lo, hi)[col]: 8 row values (a0, a1) times 8 column values.
fn fma8(t: Tile, a0: vec4f, a1: vec4f, lo: vec4f, hi: vec4f) -> Tile {
  return Tile(
    t.l0 + a0.x * lo, t.l1 + a0.y * lo, t.l2 + a0.z * lo, t.l3 + a0.w * lo,
    t.l4 + a1.x * lo, t.l5 + a1.y * lo, t.l6 + a1.z * lo, t.l7 + a1.w * lo,
    t.h0 + a0.x * hi, t.h1 + a0.y * hi, t.h2 + a0.z * hi, t.h3 + a0.w * hi,
    t.h4 + a1.x * hi, t.h5 + a1.y * hi, t.h6 + a1.z * hi, t.h7 + a1.w * hi,
  );
}
