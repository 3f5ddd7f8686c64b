/** JSON Schema as the console's forms read it: resolving references and branches, starting values, cleaning. */
/** A JSON Schema, as far as the forms read one. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  default?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
}

export type Value = unknown;

/** Follows `$ref`, merges `allOf`, and picks the non-null branch of a nullable `anyOf`. */
export function resolve(schema: JsonSchema | undefined, root: JsonSchema): JsonSchema {
  let s = schema ?? {};
  for (let i = 0; i < 10 && s.$ref; i++) {
    const name = s.$ref.split('/').pop() ?? '';
    s = { ...(root.$defs?.[name] ?? root.definitions?.[name] ?? {}), ...withoutRef(s) };
  }
  if (s.allOf) s = s.allOf.reduce<JsonSchema>((acc, part) => ({ ...acc, ...resolve(part, root), properties: { ...acc.properties, ...resolve(part, root).properties } }), { ...s, allOf: undefined });
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const consts = branches.filter((b) => b.const !== undefined);
    if (consts.length === branches.length) return { ...s, type: 'string', enum: consts.map((b) => b.const), anyOf: undefined, oneOf: undefined };
    const real = branches.find((b) => b.type !== 'null') ?? branches[0];
    return { ...resolve(real, root), title: s.title, description: s.description, default: s.default };
  }
  return s;
}

function withoutRef(s: JsonSchema): JsonSchema {
  const { $ref: _ignored, ...rest } = s;
  return rest;
}

export const typeOf = (s: JsonSchema): string => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') ?? 'string' : s.type ?? (s.properties ? 'object' : s.enum ? 'string' : 'string'));

/** The starting value for a schema: defaults, `initial` where given, one row for a required list. */
export function initialValue(schema: JsonSchema, root: JsonSchema, initial?: Value, required = false): Value {
  const s = resolve(schema, root);
  if (initial !== undefined && initial !== null && typeOf(s) !== 'object') return initial;
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, Value> = {};
      const given = (initial ?? {}) as Record<string, Value>;
      for (const [k, p] of Object.entries(s.properties ?? {})) out[k] = initialValue(p, root, given[k], s.required?.includes(k));
      return out;
    }
    case 'array': {
      const rows = Math.max(s.minItems ?? 0, required ? 1 : 0);
      return Array.from({ length: rows }, () => initialValue(s.items ?? {}, root, undefined, true));
    }
    case 'boolean':
      return s.default ?? false;
    default:
      return s.default;
  }
}

/** Drops empty optional strings and unset values, so the API sees only what was filled in. */
export function clean(value: Value): Value {
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === 'object') {
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = clean(v);
      if (c !== undefined && c !== '') out[k] = c;
    }
    return out;
  }
  return value;
}
