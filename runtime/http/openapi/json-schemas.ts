import { z, type ZodType } from 'zod';

/** A JSON Schema (draft 2020-12) object, as the API document holds it. */
export type JsonSchema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';
/** Prefix of the ids this module makes up for schemas that have none (inlined again where possible). */
const ANONYMOUS = '__';

/**
 * Converts many zod schemas to JSON Schema in one pass, so that shared shapes become
 * `components/schemas` entries referenced with `$ref`. A schema with an `id` in zod's global
 * registry (`.meta({ id: 'Problem' })`) is a component under that name; others are inlined
 * where they are used, unless the same zod object is used in several places.
 */
export class SchemaSet {
  private readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<ZodType, string>();

  constructor(private readonly io: 'input' | 'output') {}

  /** Adds `schema` (named `name` when it has no id of its own); the key to look it up with after {@link emit}. */
  add(schema: ZodType, name: string): string {
    let id = this.ids.get(schema);
    if (!id) {
      const own = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
      id = own ?? `${ANONYMOUS}${name}`;
      this.ids.set(schema, id);
      this.registry.add(schema, { id });
    }
    return id;
  }

  /** Every schema added: `top(key)` is what to put where the schema is used, `components` the named ones. */
  emit(): { top: (key: string) => JsonSchema; components: Record<string, JsonSchema> } {
    const out = z.toJSONSchema(this.registry, {
      target: 'draft-2020-12',
      io: this.io,
      uri: (id) => `${COMPONENTS}${id}`,
      unrepresentable: 'any',
      override: this.io === 'input' ? keepPipedFormat : undefined,
    }) as { schemas: Record<string, JsonSchema> };
    const schemas: Record<string, JsonSchema> = {};
    for (const [id, s] of Object.entries(out.schemas)) {
      if (id === '__shared') {
        // Schemas with an id that were reached only through others: components of their own.
        for (const [defId, def] of Object.entries((s.$defs ?? {}) as Record<string, JsonSchema>)) schemas[defId] = def;
      } else {
        const { $schema: _s, $id: _i, ...rest } = s;
        schemas[id] = rest;
      }
    }
    const text = rewriteRefs(JSON.stringify(schemas), (ref) => ref.replace(`${COMPONENTS}__shared#/$defs/`, COMPONENTS));
    const all = JSON.parse(text) as Record<string, JsonSchema>;
    // An anonymous schema referenced by another one stays a component (named without the prefix).
    const referenced = new Set<string>();
    rewriteRefs(text, (ref) => (referenced.add(ref.slice(COMPONENTS.length)), ref));
    const renamed = (id: string) => (id.startsWith(ANONYMOUS) ? id.slice(ANONYMOUS.length) : id);
    const components: Record<string, JsonSchema> = {};
    for (const [id, s] of Object.entries(all)) {
      if (!id.startsWith(ANONYMOUS) || referenced.has(id)) components[renamed(id)] = renameRefs(s, renamed);
    }
    const top = (key: string): JsonSchema => {
      if (!key.startsWith(ANONYMOUS) || referenced.has(key)) return { $ref: `${COMPONENTS}${renamed(key)}` };
      return renameRefs(all[key], renamed);
    };
    return { top, components };
  }
}

/** Applies `map` to every `$ref` value in a JSON text. */
function rewriteRefs(json: string, map: (ref: string) => string): string {
  return json.replace(/"\$ref":"((?:[^"\\]|\\.)*)"/g, (_m, ref: string) => `"$ref":${JSON.stringify(map(ref))}`);
}

/** Renames the component part of every `$ref` in `schema`. */
export function renameRefs(schema: JsonSchema, rename: (id: string) => string): JsonSchema {
  const text = rewriteRefs(JSON.stringify(schema), (ref) => (ref.startsWith(COMPONENTS) ? COMPONENTS + rename(ref.slice(COMPONENTS.length)) : ref));
  return JSON.parse(text) as JsonSchema;
}

/**
 * For a request, zod describes a pipe by its input side only: `z.string().pipe(z.uuid())`
 * would be a bare string, though the server refuses one that is not a UUID (400). The format
 * (and pattern) of a string the pipe checks is kept, so the document refuses what the server does.
 */
function keepPipedFormat(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { type?: string; out?: ZodType } } })._zod?.def;
  if (def?.type !== 'pipe' || !def.out || ctx.jsonSchema.type !== 'string') return;
  const outDef = (def.out as unknown as { _zod: { def: { type: string } } })._zod.def;
  if (outDef.type !== 'string') return;
  const out = z.toJSONSchema(def.out, { target: 'draft-2020-12', io: 'output' }) as JsonSchema;
  if (typeof out.format === 'string') ctx.jsonSchema.format = out.format;
  if (typeof out.pattern === 'string') ctx.jsonSchema.pattern = out.pattern;
  if (typeof out.maxLength === 'number') ctx.jsonSchema.maxLength = out.maxLength;
}
