import assert from "node:assert/strict";
import { crc32, decodePng, encodePng } from "../src/png.ts";

async function zlib(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function chunk(type: string, data: Uint8Array | number[]): number[] {
  const body = [...new TextEncoder().encode(type), ...data];
  return [...be32(data.length), ...body, ...be32(crc32(new Uint8Array(body)))];
}

/** Applies PNG filter `ft` to one row (the encoder side, written independently of the decoder). */
function filterRow(ft: number, row: Uint8Array, prev: Uint8Array | null, bpp: number): number[] {
  const out = [ft];
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev ? prev[i] : 0;
    const c = prev && i >= bpp ? prev[i - bpp] : 0;
    let pred = 0;
    if (ft === 1) pred = a;
    else if (ft === 2) pred = b;
    else if (ft === 3) pred = Math.floor((a + b) / 2);
    else if (ft === 4) {
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
    out.push((row[i] - pred) & 255);
  }
  return out;
}

interface CraftOpts {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  /** Raw (unfiltered) scanlines, `height` rows. */
  rows: Uint8Array[];
  /** Filter type per row (cycled). */
  filters: number[];
  /** Split the zlib stream into this many IDAT chunks. */
  idats?: number;
  interlace?: number;
  extraChunks?: number[]; // inserted before the first IDAT
}

async function craftPng(o: CraftOpts): Promise<Uint8Array> {
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[o.colorType]!;
  const bpp = Math.max(1, (samples * o.depth) >> 3);
  const filtered: number[] = [];
  o.rows.forEach((row, y) => {
    filtered.push(
      ...filterRow(o.filters[y % o.filters.length], row, y ? o.rows[y - 1] : null, bpp),
    );
  });
  const z = await zlib(new Uint8Array(filtered));
  const ihdr = [...be32(o.width), ...be32(o.height), o.depth, o.colorType, 0, 0, o.interlace ?? 0];
  const parts = [137, 80, 78, 71, 13, 10, 26, 10, ...chunk("IHDR", ihdr), ...(o.extraChunks ?? [])];
  const n = o.idats ?? 1;
  const step = Math.ceil(z.length / n);
  for (let i = 0; i < z.length; i += step) parts.push(...chunk("IDAT", z.subarray(i, i + step)));
  parts.push(...chunk("tEXt", new TextEncoder().encode("Comment\0ignored")));
  parts.push(...chunk("IEND", []));
  return new Uint8Array(parts);
}

/** Deterministic "noisy gradient" bytes, so that every filter has work to do. */
function noise(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return new Uint8Array(n).map((_, i) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (i * 5 + (s >>> 24)) & 255;
  });
}

function rowsOf(px: Uint8Array, height: number): Uint8Array[] {
  const stride = px.length / height;
  return Array.from({ length: height }, (_, y) => px.subarray(y * stride, (y + 1) * stride));
}

Deno.test("crc32 check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
  // IEND's well-known CRC
  assert.equal(crc32(new TextEncoder().encode("IEND")), 0xae426082);
});

Deno.test("png: round trip for 1, 3 and 4 channels", async () => {
  for (const channels of [1, 3, 4] as const) {
    for (const [w, h] of [[1, 1], [7, 5], [33, 2]]) {
      const px = noise(w * h * channels, w * 31 + channels);
      const png = await encodePng(px, w, h, channels);
      assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
      const img = await decodePng(png);
      assert.equal(img.width, w);
      assert.equal(img.height, h);
      assert.equal(img.channels, channels);
      assert.deepEqual(img.pixels, px);
    }
  }
  await assert.rejects(encodePng(new Uint8Array(5), 2, 2, 1), /needs 4 bytes, got 5/);
  await assert.rejects(encodePng(new Uint8Array(0), 0, 2, 1), /invalid width 0/);
  await assert.rejects(encodePng(new Uint8Array(4), 2, 2, 2 as 1), /channels must be 1, 3 or 4/);
});

Deno.test("png: decodes each filter type, alone and mixed, with several IDAT chunks", async () => {
  const cases = [
    { colorType: 2, depth: 8, channels: 3, bpp: 3 },
    { colorType: 6, depth: 8, channels: 4, bpp: 4 },
    { colorType: 0, depth: 8, channels: 1, bpp: 1 },
  ];
  for (const c of cases) {
    const width = 6, height = 5;
    const px = noise(width * height * c.bpp, c.colorType + 7);
    for (const filters of [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4], [4, 3, 2, 1]]) {
      for (const idats of [1, 3]) {
        const png = await craftPng({
          width,
          height,
          depth: c.depth,
          colorType: c.colorType,
          rows: rowsOf(px, height),
          filters,
          idats,
        });
        const img = await decodePng(png);
        assert.equal(img.channels, c.channels);
        assert.deepEqual(img.pixels, px, `colour type ${c.colorType}, filters ${filters}`);
      }
    }
  }
});

Deno.test("png: grey+alpha becomes RGBA, 16-bit is reduced to 8", async () => {
  // grey+alpha, 8-bit, Paeth
  const ga = new Uint8Array([10, 255, 20, 128, 30, 0, 40, 64]);
  let img = await decodePng(
    await craftPng({
      width: 2,
      height: 2,
      depth: 8,
      colorType: 4,
      rows: rowsOf(ga, 2),
      filters: [4],
    }),
  );
  assert.equal(img.channels, 4);
  assert.deepEqual(
    Array.from(img.pixels),
    [10, 10, 10, 255, 20, 20, 20, 128, 30, 30, 30, 0, 40, 40, 40, 64],
  );
  // RGB, 16-bit: (0x1234, 0xabcd, 0xff00) and (0x0001, 0x8000, 0xffff), Average + Sub
  const rgb16 = new Uint8Array([
    0x12,
    0x34,
    0xab,
    0xcd,
    0xff,
    0x00,
    0x00,
    0x01,
    0x80,
    0x00,
    0xff,
    0xff,
  ]);
  img = await decodePng(
    await craftPng({ width: 2, height: 1, depth: 16, colorType: 2, rows: [rgb16], filters: [3] }),
  );
  assert.equal(img.channels, 3);
  assert.deepEqual(Array.from(img.pixels), [0x12, 0xab, 0xff, 0x00, 0x80, 0xff]);
  // grey, 1-bit, scaled to 0/255; 2-bit scaled to 0, 85, 170, 255
  img = await decodePng(
    await craftPng({
      width: 10,
      height: 1,
      depth: 1,
      colorType: 0,
      rows: [new Uint8Array([0b10110000, 0b01000000])],
      filters: [1],
    }),
  );
  assert.deepEqual(Array.from(img.pixels), [255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
  img = await decodePng(
    await craftPng({
      width: 4,
      height: 1,
      depth: 2,
      colorType: 0,
      rows: [new Uint8Array([0b00011011])],
      filters: [0],
    }),
  );
  assert.deepEqual(Array.from(img.pixels), [0, 85, 170, 255]);
});

Deno.test("png: palette images become RGB (RGBA with tRNS)", async () => {
  const plte = chunk("PLTE", [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
  // 2-bit indices: row 0 = 0 1 2 3 0, row 1 = 3 3 1 0 2
  const rows = [new Uint8Array([0b00011011, 0b00000000]), new Uint8Array([0b11110100, 0b10000000])];
  let img = await decodePng(
    await craftPng({
      width: 5,
      height: 2,
      depth: 2,
      colorType: 3,
      rows,
      filters: [2],
      extraChunks: plte,
    }),
  );
  assert.equal(img.channels, 3);
  const P = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]];
  assert.deepEqual(Array.from(img.pixels), [0, 1, 2, 3, 0, 3, 3, 1, 0, 2].flatMap((k) => P[k]));
  const trns = chunk("tRNS", [0, 128]);
  img = await decodePng(
    await craftPng({
      width: 5,
      height: 2,
      depth: 2,
      colorType: 3,
      rows,
      filters: [0],
      extraChunks: [...plte, ...trns],
    }),
  );
  assert.equal(img.channels, 4);
  assert.deepEqual(Array.from(img.pixels.subarray(0, 8)), [255, 0, 0, 0, 0, 255, 0, 128]);
  assert.equal(img.pixels[4 * 3 + 3], 255);
  // index beyond the palette
  const small = chunk("PLTE", [1, 2, 3]);
  await assert.rejects(
    decodePng(
      await craftPng({
        width: 5,
        height: 2,
        depth: 2,
        colorType: 3,
        rows,
        filters: [0],
        extraChunks: small,
      }),
    ),
    /palette index 1 out of range \(1 entries\) at \(1, 0\)/,
  );
  await assert.rejects(
    decodePng(await craftPng({ width: 5, height: 2, depth: 2, colorType: 3, rows, filters: [0] })),
    /palette image without a PLTE chunk/,
  );
});

Deno.test("png: corruption and unsupported features give clear errors", async () => {
  const good = await encodePng(noise(4 * 3 * 3, 1), 4, 3, 3);
  await decodePng(good);
  // CRC: flip a byte inside the IDAT data
  const crc = good.slice();
  crc[33 + 8 + 2] ^= 0x40;
  await assert.rejects(
    decodePng(crc),
    /PNG: CRC mismatch in IDAT chunk at byte 33: stored [0-9a-f]+, computed/,
  );
  const crcHdr = good.slice();
  crcHdr[16] ^= 1; // IHDR width
  await assert.rejects(decodePng(crcHdr), /CRC mismatch in IHDR chunk at byte 8/);
  // bad signature
  const sig = good.slice();
  sig[1] = 0x51;
  await assert.rejects(decodePng(sig), /not a PNG file \(bad signature\)/);
  await assert.rejects(decodePng(new Uint8Array(3)), /not a PNG file/);
  // truncated
  await assert.rejects(decodePng(good.subarray(0, good.length - 20)), /PNG: truncated IDAT chunk/);
  await assert.rejects(decodePng(good.subarray(0, good.length - 12)), /no IEND chunk/);
  // interlaced
  const rows = rowsOf(noise(9, 2), 3);
  await assert.rejects(
    decodePng(
      await craftPng({
        width: 3,
        height: 3,
        depth: 8,
        colorType: 0,
        rows,
        filters: [0],
        interlace: 1,
      }),
    ),
    /interlaced \(Adam7\) images are not supported/,
  );
  // invalid filter type
  const bad = await craftPng({
    width: 3,
    height: 3,
    depth: 8,
    colorType: 0,
    rows,
    filters: [1, 5],
  });
  await assert.rejects(decodePng(bad), /invalid filter type 5 on row 1/);
  // invalid depth for the colour type
  await assert.rejects(
    decodePng(await craftPng({ width: 3, height: 3, depth: 4, colorType: 2, rows, filters: [0] })),
    /invalid colour type 2 with bit depth 4/,
  );
  // too little image data (the IHDR claims 4 rows, 3 are there)
  const short = await craftPng({ width: 3, height: 3, depth: 8, colorType: 0, rows, filters: [0] });
  const s = short.slice();
  s.set(be32(4), 16 + 4); // height
  s.set(be32(crc32(s.subarray(12, 29))), 29);
  await assert.rejects(decodePng(s), /image data has 12 bytes after decompression, 3x4 needs 16/);
  // corrupt zlib stream (with valid CRCs)
  const idat = chunk("IDAT", [0x78, 0x9c, 0xff, 0xff, 0xff, 0x00]);
  const z = new Uint8Array([...good.subarray(0, 33), ...idat, ...chunk("IEND", [])]);
  await assert.rejects(decodePng(z), /PNG: corrupt compressed image data/);
  // unknown critical chunk; first chunk not IHDR
  const crit = await craftPng({
    width: 3,
    height: 3,
    depth: 8,
    colorType: 0,
    rows,
    filters: [0],
    extraChunks: chunk("ABCD", [1]),
  });
  await assert.rejects(decodePng(crit), /unknown critical chunk ABCD/);
  const noHdr = new Uint8Array([...good.subarray(0, 8), ...chunk("IEND", [])]);
  await assert.rejects(decodePng(noHdr), /first chunk is IEND, not IHDR/);
});

/** A python3 with Pillow, or undefined (then the cross-check is skipped). */
async function pythonWithPil(): Promise<string | undefined> {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(py, { args: ["-c", "import PIL.Image"], stderr: "null" })
        .output();
      if (r.success) return py;
    } catch {
      // not installed
    }
  }
  return undefined;
}

const pil = await pythonWithPil();

Deno.test({
  name: "png: cross-check with Pillow" + (pil ? "" : " (skipped: no python3 with Pillow)"),
  ignore: !pil,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // Ours -> Pillow
      const px = noise(13 * 7 * 3, 5);
      await Deno.writeFile(`${dir}/ours.png`, await encodePng(px, 13, 7, 3));
      // Pillow -> ours, in several modes; Pillow picks its filters adaptively.
      const script = `
import sys
from PIL import Image
d = sys.argv[1]
im = Image.open(d + "/ours.png"); im.load()
assert im.mode == "RGB" and im.size == (13, 7), (im.mode, im.size)
open(d + "/ours.raw", "wb").write(im.tobytes())
w, h = 37, 23
base = Image.new("RGB", (w, h))
base.putdata([((x * 7 + y * 3) % 256, (x * y) % 256, (255 - x * 5 + y * y) % 256) for y in range(h) for x in range(w)])
for mode in ["RGB", "RGBA", "L", "LA", "P"]:
    im = base.convert(mode) if mode != "P" else base.quantize(colors=16)
    im.save(d + "/pil-" + mode + ".png")
    out = im.convert({"RGB": "RGB", "RGBA": "RGBA", "L": "L", "LA": "RGBA", "P": "RGB"}[mode])
    open(d + "/pil-" + mode + ".raw", "wb").write(out.tobytes())
`;
      const r = await new Deno.Command(pil!, { args: ["-c", script, dir] }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      assert.deepEqual(await Deno.readFile(`${dir}/ours.raw`), px);
      for (const [mode, ch] of [["RGB", 3], ["RGBA", 4], ["L", 1], ["LA", 4], ["P", 3]] as const) {
        const img = await decodePng(await Deno.readFile(`${dir}/pil-${mode}.png`));
        assert.equal(img.channels, ch, mode);
        assert.equal(img.width, 37);
        assert.equal(img.height, 23);
        assert.deepEqual(img.pixels, await Deno.readFile(`${dir}/pil-${mode}.raw`), mode);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
