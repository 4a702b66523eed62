/**
 * The uniform block every kernel reads at binding 0, defined ONCE: {@link PARAMS_FIELDS}
 * packs it on the host ({@link packParams}) and generates its WGSL declaration
 * ({@link paramsStruct}), which `shaders/embed.ts` puts in the prelude prepended to every
 * shader. A field added here is in every shader as `params.<snake_case name>`.
 *
 * @module
 */

/** One field of the uniform block: host name (camelCase), WGSL type, default value. */
export interface ParamsField {
  /** Host name; the WGSL name is its snake_case (`byteOffset` → `byte_offset`). */
  name: string;
  /** Every field is 4 bytes. */
  type: "u32" | "f32";
  /** Value when the caller does not set it. */
  default: number;
  /** What it is, copied into the WGSL prelude as a comment. */
  doc: string;
}

/** The fields, in their order in the block. */
export const PARAMS_FIELDS = [
  { name: "count", type: "u32", default: 0, doc: "samples in the batch (N)" },
  { name: "byteOffset", type: "u32", default: 0, doc: "load_batch: first byte of the batch" },
  { name: "scale", type: "f32", default: 1, doc: "load_batch: factor of the bytes" },
  { name: "lr", type: "f32", default: 0, doc: "learning rate" },
  { name: "momentum", type: "f32", default: 0, doc: "SGD momentum (0: plain SGD)" },
  { name: "beta1", type: "f32", default: 0, doc: "Adam β1" },
  { name: "beta2", type: "f32", default: 0, doc: "Adam β2" },
  // 1 - β in doubles on the host: in float32, 1 - 0.999 is off by 1.3e-5 relative.
  { name: "oneMinusBeta1", type: "f32", default: 1, doc: "Adam 1 - β1" },
  { name: "oneMinusBeta2", type: "f32", default: 1, doc: "Adam 1 - β2" },
  { name: "epsilon", type: "f32", default: 0, doc: "Adam ε" },
  { name: "l2", type: "f32", default: 0, doc: "Adam: weight decay added to the gradient" },
  { name: "decay", type: "f32", default: 1, doc: "AdamW: 1 - lr * weight decay" },
  { name: "c1", type: "f32", default: 1, doc: "Adam: 1 / (1 - β1^t)" },
  { name: "c2", type: "f32", default: 1, doc: "Adam: 1 / (1 - β2^t)" },
  { name: "seed", type: "u32", default: 0, doc: "dropout: the model's seed" },
  { name: "step", type: "u32", default: 0, doc: "dropout: the step number" },
] as const satisfies readonly ParamsField[];

/** The host names of the fields. */
export type ParamsName = (typeof PARAMS_FIELDS)[number]["name"];

/** Bytes of the block: 4 per field, rounded up to 16 (a uniform struct's alignment). */
export const PARAMS_SIZE = Math.ceil(PARAMS_FIELDS.length / 4) * 16;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

/**
 * Packs the uniform block; unset fields take their default (see {@link PARAMS_FIELDS}).
 *
 * @param values Field values by host name.
 * @returns The {@link PARAMS_SIZE} bytes to write.
 *
 * @example
 * ```ts
 * import { packParams, PARAMS_SIZE } from "./params.ts";
 *
 * const bytes = packParams({ count: 500, lr: 0.1 });
 * if (bytes.byteLength !== PARAMS_SIZE) throw new Error("size");
 * if (new Uint32Array(bytes)[0] !== 500) throw new Error("count");
 * ```
 */
export function packParams(values: Partial<Record<ParamsName, number>>): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_SIZE);
  const u = new Uint32Array(buf), f = new Float32Array(buf);
  PARAMS_FIELDS.forEach((field, i) => {
    const v = values[field.name] ?? field.default;
    if (field.type === "u32") u[i] = v >>> 0;
    else f[i] = v;
  });
  return buf;
}

/**
 * The WGSL declaration of the block, generated from {@link PARAMS_FIELDS} (padded to
 * {@link PARAMS_SIZE} bytes).
 *
 * @returns `struct Params { ... }` with one field per line.
 *
 * @example
 * ```ts
 * import { paramsStruct } from "./params.ts";
 *
 * if (!paramsStruct().includes("byte_offset: u32,")) throw new Error("missing field");
 * ```
 */
export function paramsStruct(): string {
  const lines = ["struct Params {"];
  for (const f of PARAMS_FIELDS) lines.push(`  ${snake(f.name)}: ${f.type}, // ${f.doc}`);
  for (let i = PARAMS_FIELDS.length; i < PARAMS_SIZE / 4; i++) lines.push(`  pad${i}: u32,`);
  lines.push("}");
  return lines.join("\n");
}
