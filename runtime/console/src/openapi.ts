import { useEffect, useState } from 'preact/hooks';
import { request, type JsonSchema, type Template } from './api';

interface OpenApiDocument {
  paths?: Record<string, Record<string, { summary?: string; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const documents = new Map<string, Promise<OpenApiDocument | undefined>>();

/** The API document (the entry point's `describedby`), fetched once per page load. */
function load(href: string): Promise<OpenApiDocument | undefined> {
  let p = documents.get(href);
  if (!p) {
    p = request<OpenApiDocument>(href).then((r) => r.body, () => {
      documents.delete(href);
      return undefined;
    });
    documents.set(href, p);
  }
  return p;
}

/**
 * A form template for `method path` read from the API document: the operation's JSON
 * request body, with the document's component schemas as `$defs` so references resolve.
 * This is how a collection without a HAL-FORMS template still gets its "create" form.
 */
export function useOperationTemplate(documentHref: string | undefined, method: string, path: string | undefined, title: string): Template | undefined {
  const [template, setTemplate] = useState<Template>();
  useEffect(() => {
    if (!documentHref || !path) return;
    let live = true;
    void load(documentHref).then((doc) => {
      const op = doc?.paths?.[path]?.[method.toLowerCase()];
      const schema = op?.requestBody?.content?.['application/json']?.schema;
      if (!live || !schema) return;
      const refs = JSON.stringify(schema).replace(/#\/components\/schemas\//g, '#/$defs/');
      setTemplate({ title, method: method.toUpperCase(), target: path, contentType: 'application/json', schema: { ...(JSON.parse(refs) as JsonSchema), $defs: rewrite(doc?.components?.schemas ?? {}) } });
    });
    return () => {
      live = false;
    };
  }, [documentHref, method, path, title]);
  return template;
}

const rewrite = (schemas: Record<string, JsonSchema>): Record<string, JsonSchema> => JSON.parse(JSON.stringify(schemas).replace(/#\/components\/schemas\//g, '#/$defs/')) as Record<string, JsonSchema>;
