// nll_loss.wgsl: mean negative log-likelihood of a softmax and the number of misclassified
// rows, from the logits (log-sum-exp shifted by the row maximum: stable).
//   result[0] = (1/N) sum_n (max_n + log sum_k exp(z[n,k] - max_n) - z[n,label[n]])
//   result[1] = #{n : argmax_k z[n,k] != label[n]}   (first maximum wins, strict >)
// Letters: N batch (params.count), CLASSES values per row.
// CPU twins: nllLoss and errorCount in cpu/nll.ts.
// Dispatch: ONE workgroup of 64; each invocation takes rows lid, lid+64, ..., then the
//   partial sums are added in workgroup memory (a fixed order: deterministic).

override CLASSES: u32;

@group(0) @binding(0) var<uniform> params: Params; // count
@group(0) @binding(1) var<storage, read> z: array<f32>; // [N,CLASSES], logits
@group(0) @binding(2) var<storage, read> labels: array<u32>; // [N]
@group(0) @binding(3) var<storage, read_write> result: array<f32, 2>; // mean loss, error count

var<workgroup> loss: array<f32, 64>;
var<workgroup> errors: array<u32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  var l = 0.0;
  var e = 0u;
  for (var n = lid; n < params.count; n += 64u) {
    let row = n * CLASSES;
    var best = 0u;
    for (var k = 1u; k < CLASSES; k++) {
      if (z[row + k] > z[row + best]) { best = k; }
    }
    let m = z[row + best];
    var sum = 0.0;
    for (var k = 0u; k < CLASSES; k++) { sum += exp(z[row + k] - m); }
    l += m + log(sum) - z[row + labels[n]];
    e += select(0u, 1u, best != labels[n]);
  }
  loss[lid] = l;
  errors[lid] = e;
  for (var s = 32u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) {
      loss[lid] += loss[lid + s];
      errors[lid] += errors[lid + s];
    }
  }
  if (lid == 0u) {
    result[0] = loss[0] / f32(params.count);
    result[1] = f32(errors[0]);
  }
}
