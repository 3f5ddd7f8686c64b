import { z, type ZodType } from 'zod';

/** A HAL-FORMS property (https://rwcbook.github.io/hal-forms/): one flat field of a template. */
export interface HalFormsProperty {
  name: string;
  type?: string;
  required: boolean;
  regex?: string;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  options?: { inline: unknown[] };
}

/**
 * A HAL-FORMS template. `properties` describes flat fields as HAL-FORMS defines them;
 * `schema` (an extension) is the whole JSON Schema of the input, for nested inputs such as an
 * order's `lineItems` and `shippingAddress` that HAL-FORMS properties cannot express.
 */
export interface HalFormsTemplate {
  title: string;
  method: 'POST' | 'PUT';
  target: string;
  contentType: 'application/json';
  properties: HalFormsProperty[];
  schema?: Record<string, unknown>;
}

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[]; type?: string | string[] };

const schemas = new WeakMap<ZodType, JsonSchema>();

/** The JSON Schema of what a client sends (`io: 'input'`: before transforms), cached per schema. */
export function inputJsonSchema(input: ZodType): JsonSchema {
  let s = schemas.get(input);
  if (!s) {
    s = z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    delete s.$schema;
    schemas.set(input, s);
  }
  return s;
}

const HAL_FORMS_TYPES: Record<string, string> = { string: 'text', number: 'number', integer: 'number', boolean: 'checkbox' };

/** The flat HAL-FORMS properties of an object schema (nested fields appear with no `type`). */
export function halFormsProperties(schema: JsonSchema): HalFormsProperty[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const prop: HalFormsProperty = { name, required: required.has(name) };
    const type = typeof p.type === 'string' ? HAL_FORMS_TYPES[p.type] : undefined;
    if (type) prop.type = p.format === 'email' ? 'email' : type;
    if (typeof p.pattern === 'string') prop.regex = p.pattern;
    if (typeof p.minimum === 'number') prop.min = p.minimum;
    if (typeof p.maximum === 'number') prop.max = p.maximum;
    if (typeof p.minLength === 'number') prop.minLength = p.minLength;
    if (typeof p.maxLength === 'number') prop.maxLength = p.maxLength;
    if (Array.isArray(p.enum)) prop.options = { inline: p.enum };
    return prop;
  });
}

/** A template for a command or an update: HAL-FORMS properties and the input's JSON Schema. */
export function halFormsTemplate(title: string, method: 'POST' | 'PUT', target: string, input?: ZodType): HalFormsTemplate {
  if (!input) return { title, method, target, contentType: 'application/json', properties: [] };
  const schema = inputJsonSchema(input);
  return { title, method, target, contentType: 'application/json', properties: halFormsProperties(schema), schema };
}

/** The zod schema of a template, for the API document of the resources that carry `_templates`. */
export const halFormsTemplateSchema = z
  .object({
    title: z.string(),
    method: z.enum(['POST', 'PUT']),
    target: z.string(),
    contentType: z.literal('application/json'),
    properties: z.array(
      z
        .object({
          name: z.string(),
          type: z.string().optional(),
          required: z.boolean(),
          regex: z.string().optional(),
          min: z.number().optional(),
          max: z.number().optional(),
          minLength: z.number().optional(),
          maxLength: z.number().optional(),
          options: z.object({ inline: z.array(z.unknown()) }).optional(),
        })
        .strict(),
    ),
    schema: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .meta({ id: 'HalFormsTemplate', description: 'A HAL-FORMS template; `schema` (an extension) is the JSON Schema of the whole input.' });

/** `_templates` of a resource: one template per action, keyed by name (`default` for the resource's own update). */
export const templatesSchema = z.record(z.string(), halFormsTemplateSchema);
