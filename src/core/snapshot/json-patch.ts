/**
 * A structural diff of two JSON values, for snapshot manifests (two
 * snapshots of the same machine share most of their state objects, so a
 * diff holds only what changed).
 *
 * A patch is:
 * - `[value]` (a list of one): the value is replaced by `value`;
 * - `[]` (an empty list): the field is removed (only inside an object patch);
 * - an object: the value is an object, and each key's patch applies to that
 *   field (keys not named are unchanged).
 * Lists are values, never patched element by element: the state objects'
 * lists are short (registers, FIFOs), and whole-list replacement keeps the
 * format trivial.
 */
export type JsonPatch = [unknown] | [] | { [key: string]: JsonPatch };

/** The patch that turns `base` into `target`, or undefined when they are equal. */
export function diffJson(base: unknown, target: unknown): JsonPatch | undefined {
  if (isPlainObject(base) && isPlainObject(target)) {
    const patch: { [key: string]: JsonPatch } = {};
    for (const [key, value] of Object.entries(target)) {
      const field: JsonPatch | undefined = Object.hasOwn(base, key) ? diffJson(base[key], value) : [value];
      if (field !== undefined) patch[key] = field;
    }
    for (const key of Object.keys(base)) if (!Object.hasOwn(target, key)) patch[key] = [];
    return Object.keys(patch).length > 0 ? patch : undefined;
  }
  return jsonEqual(base, target) ? undefined : [target];
}

/**
 * `base` with `patch` applied (a new value; `base` is not changed). Throws
 * an Error saying where when the patch does not fit (it was made against
 * something else, or it is damaged).
 */
export function applyJsonPatch(base: unknown, patch: unknown, path = ''): unknown {
  if (Array.isArray(patch)) {
    if (patch.length === 1) return patch[0];
    throw new Error(`the change at "${path || '(top)'}" is not a one-element list`);
  }
  if (!isPlainObject(patch)) throw new Error(`the change at "${path || '(top)'}" is neither a list nor an object`);
  if (!isPlainObject(base)) throw new Error(`"${path || '(top)'}" is not an object in the base`);
  const result = new Map(Object.entries(base));
  for (const [key, field] of Object.entries(patch)) {
    const where = path === '' ? key : `${path}.${key}`;
    // No state object has it, and objects made from it by assignment would get a new prototype instead.
    if (key === '__proto__') throw new Error(`"${where}" is not a field name state objects use`);
    if (Array.isArray(field) && field.length === 0) {
      if (!result.delete(key)) throw new Error(`"${where}" is removed but the base has no such field`);
    } else {
      result.set(key, applyJsonPatch(result.get(key), field, where));
    }
  }
  return Object.fromEntries(result);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
