import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors } from "../src/safetensors.ts";

/** A python3 that can import `module`, or undefined (then the cross-checks are skipped). */
async function pythonWith(module: string): Promise<string | undefined> {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(py, { args: ["-c", `import ${module}`], stderr: "null" })
        .output();
      if (r.success) return py;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** The file as a header JSON string plus data, with a hand-written length prefix. */
function craft(header: string, data: number[] = [], pad = true): Uint8Array {
  let h = header;
  if (pad) { while (h.length % 8 !== 0) h += " "; }
  const json = new TextEncoder().encode(h);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("safetensors: exact byte layout of a tiny file", () => {
  const bytes = encodeSafetensors({ a: { shape: [2], data: new Float32Array([1, -2]) } });
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes
  const expected = [
    ...[56, 0, 0, 0, 0, 0, 0, 0], // u64 LE header length, padded 54 -> 56
    ...new TextEncoder().encode(header),
    0x20,
    0x20, // two spaces of padding
    ...[0x00, 0x00, 0x80, 0x3f], // 1.0f LE
    ...[0x00, 0x00, 0x00, 0xc0], // -2.0f LE
  ];
  assert.deepEqual(Array.from(bytes), expected);
  assert.equal(bytes.length, 72);
});

Deno.test("safetensors: sorted names, metadata first, offsets", () => {
  const bytes = encodeSafetensors(
    {
      "layer1.W": { shape: [1, 2], data: new Float32Array([3, 4]) },
      "layer0.b": { shape: [3], data: new Float32Array([0, 1, 2]) },
    },
    { z: "1", a: "x" },
  );
  const n = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(n % 8, 0);
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(
    json.trimEnd(),
    '{"__metadata__":{"a":"x","z":"1"},' +
      '"layer0.b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},' +
      '"layer1.W":{"dtype":"F32","shape":[1,2],"data_offsets":[12,20]}}',
  );
  assert.equal(bytes.length, 8 + n + 20);
});

Deno.test("safetensors: round trip", () => {
  const tensors = {
    w: { shape: [2, 3, 2], data: new Float32Array(12).map((_, i) => Math.sin(i) * 1e3) },
    b: { shape: [2], data: new Float32Array([Infinity, -0]) },
    s: { shape: [], data: new Float32Array([NaN]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
    ["__proto__"]: { shape: [1], data: new Float32Array([7]) }, // an own property, not the prototype
  };
  const meta = { epoch: "12", note: "ünïcode ✓", "": "empty key" };
  const { tensors: t, metadata } = decodeSafetensors(encodeSafetensors(tensors, meta));
  assert.deepEqual(metadata, meta);
  assert.deepEqual(Object.keys(t).sort(), Object.keys(tensors).sort());
  for (const [k, v] of Object.entries(tensors)) {
    assert.equal(t[k].dtype, "F32");
    assert.deepEqual(t[k].shape, v.shape);
    assert.deepEqual(t[k].data, v.data);
  }
  assert.ok(Object.is(t.b.data[1], -0));
  assert.ok(Object.hasOwn(t, "__proto__"));
  // no metadata: none written, none read
  const plain = encodeSafetensors({ x: { shape: [1], data: new Float32Array([1]) } });
  assert.ok(!new TextDecoder().decode(plain).includes("__metadata__"));
  assert.deepEqual(decodeSafetensors(plain).metadata, {});
  // decoded data is a copy, independent of the input buffer
  const bytes = encodeSafetensors({ x: { shape: [1], data: new Float32Array([1]) } });
  const d = decodeSafetensors(bytes);
  bytes.fill(0, 8);
  assert.equal(d.tensors.x.data[0], 1);
  // decodes from an unaligned view into a larger buffer
  const again = encodeSafetensors({ x: { shape: [2], data: new Float32Array([5, 6]) } });
  const big = new Uint8Array(again.length + 3);
  big.set(again, 3);
  assert.deepEqual(
    Array.from(decodeSafetensors(big.subarray(3, 3 + again.length)).tensors.x.data),
    [5, 6],
  );
});

Deno.test("safetensors: encode errors", () => {
  assert.throws(
    () => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
    /tensor "w" has shape \[2,2\] \(4 elements\) but 3 data elements/,
  );
  assert.throws(
    () => encodeSafetensors({ w: { shape: [-1], data: new Float32Array(1) } }),
    /invalid shape/,
  );
  assert.throws(
    () => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }),
    /cannot be a tensor name/,
  );
  assert.throws(
    () =>
      encodeSafetensors({
        w: { shape: [1], data: new Float64Array(1) as unknown as Float32Array },
      }),
    /no Float32Array data/,
  );
  assert.throws(
    () => encodeSafetensors({}, { epoch: 3 as unknown as string }),
    /metadata value for "epoch" is not a string/,
  );
});

Deno.test("safetensors: decode errors", () => {
  const T = (h: string, data: number[] = [], pad = true) => () =>
    decodeSafetensors(craft(h, data, pad));
  const four = [0, 0, 128, 63];
  assert.throws(() => decodeSafetensors(new Uint8Array(5)), /file too short \(5 bytes/);
  const long = craft("{}");
  new DataView(long.buffer).setUint32(0, 1000, true);
  assert.throws(
    () => decodeSafetensors(long),
    /header length 1000 goes beyond the end of the file/,
  );
  const huge = craft("{}");
  new DataView(huge.buffer).setUint32(4, 1, true);
  assert.throws(() => decodeSafetensors(huge), /header length 4294967304 is too large/);
  assert.throws(T('{"a": '), /header is not valid UTF-8 JSON/);
  assert.throws(T("[1,2]"), /header is not a JSON object/);
  assert.throws(
    T('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', four),
    /tensor "a": unsupported dtype "F16" \(only F32\)/,
  );
  assert.throws(
    T('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', four),
    /tensor "a": 4 data bytes but shape \[2\] needs 8/,
  );
  assert.throws(
    T('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [...four, ...four]),
    /tensor "a": data_offsets \[4, 8\] are not contiguous \(expected to begin at 0\)/,
  );
  assert.throws(
    T(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      four,
    ),
    /not contiguous \(expected to begin at 4\)/,
  );
  assert.throws(
    T('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', four),
    /tensor "a": data_offsets \[0, 8\] go beyond the data \(4 bytes\)/,
  );
  assert.throws(
    T('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [...four, 1, 2]),
    /the tensors cover 4 data bytes but the file has 6 after the header/,
  );
  assert.throws(
    T('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', four),
    /invalid data_offsets \[4,0\]/,
  );
  assert.throws(
    T('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', four),
    /tensor "a": invalid shape \[1.5\]/,
  );
  assert.throws(T('{"__metadata__":{"k":1}}'), /metadata "k" is not a string/);
  assert.throws(T('{"a":3}'), /tensor "a": header entry is not an object/);
  // unpadded headers are accepted (the format does not require padding)
  const ok = decodeSafetensors(
    craft('{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', four, false),
  );
  assert.deepEqual(Array.from(ok.tensors.a.data), [1]);
});

// Issue 18.3: integers beyond 2^53 (a u64 header length, big numbers in the header JSON) were
// printed rounded, e.g. 2^64 - 1 as 18446744073709552000.
Deno.test("safetensors: a huge header length or header number is printed exactly", () => {
  const withLength = (low: number, high: number) => {
    const bytes = craft("{}");
    new DataView(bytes.buffer).setUint32(0, low, true);
    new DataView(bytes.buffer).setUint32(4, high, true);
    return () => decodeSafetensors(bytes);
  };
  assert.throws(
    withLength(0xffffffff, 0xffffffff),
    (e) =>
      e instanceof Error &&
      e.message ===
        "safetensors: header length 18446744073709551615 is too large (limit 100000000)",
  );
  assert.throws(withLength(1, 0x200000), /header length 9007199254740993 is too large/);
  const four = [0, 0, 128, 63];
  assert.throws(
    () =>
      decodeSafetensors(
        craft('{"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}}', four),
      ),
    /tensor "a": invalid shape \[18446744073709551615\]$/,
  );
  assert.throws(
    () =>
      decodeSafetensors(
        craft('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,9007199254740993]}}', four),
      ),
    /tensor "a": invalid data_offsets \[0,9007199254740993\]$/,
  );
});

const py = await pythonWith("safetensors.numpy");

Deno.test({
  name: "safetensors: cross-check with the python safetensors package" +
    (py ? "" : " (skipped: no python3 with safetensors + numpy)"),
  ignore: !py,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const ours = encodeSafetensors({
        "conv.W": { shape: [2, 1, 2, 2], data: new Float32Array(8).map((_, i) => i / 3 - 1) },
        "conv.b": { shape: [2], data: new Float32Array([0.25, -7]) },
      }, { epoch: "5" });
      await Deno.writeFile(`${dir}/ours.safetensors`, ours);
      const script = `
import json, sys, numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
d = sys.argv[1]
t = load_file(d + "/ours.safetensors")
with safe_open(d + "/ours.safetensors", "np") as f:
    meta = f.metadata()
print(json.dumps({k: [list(v.shape), v.astype(np.float64).ravel().tolist()] for k, v in sorted(t.items())} | {"meta": meta}))
save_file({"zeta": np.arange(6, dtype=np.float32).reshape(3, 2) / 4, "alpha": np.array([-1.5], dtype=np.float32)},
          d + "/theirs.safetensors", metadata={"who": "python"})
`;
      const r = await new Deno.Command(py!, { args: ["-c", script, dir] }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const got = JSON.parse(new TextDecoder().decode(r.stdout));
      assert.deepEqual(got["conv.W"][0], [2, 1, 2, 2]);
      assert.deepEqual(got["conv.W"][1], Array.from(new Float32Array(8).map((_, i) => i / 3 - 1)));
      assert.deepEqual(got["conv.b"], [[2], [0.25, -7]]);
      assert.deepEqual(got.meta, { epoch: "5" });

      const theirs = decodeSafetensors(await Deno.readFile(`${dir}/theirs.safetensors`));
      assert.deepEqual(theirs.metadata, { who: "python" });
      assert.deepEqual(theirs.tensors.zeta.shape, [3, 2]);
      assert.deepEqual(Array.from(theirs.tensors.zeta.data), [0, 0.25, 0.5, 0.75, 1, 1.25]);
      assert.deepEqual(Array.from(theirs.tensors.alpha.data), [-1.5]);
      // For one tensor and no metadata, the bytes are identical to python's.
      const r2 = await new Deno.Command(py!, {
        args: [
          "-c",
          "import sys, numpy as np\nfrom safetensors.numpy import save\n" +
          "sys.stdout.buffer.write(save({'b': np.array([1, 2.5], dtype=np.float32), 'a': np.zeros((2, 2), dtype=np.float32)}))",
        ],
      }).output();
      assert.ok(r2.success);
      assert.deepEqual(
        encodeSafetensors({
          b: { shape: [2], data: new Float32Array([1, 2.5]) },
          a: { shape: [2, 2], data: new Float32Array(4) },
        }),
        r2.stdout,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
