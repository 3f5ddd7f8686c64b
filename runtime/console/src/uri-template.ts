/**
 * RFC 6570 expansion for the two forms the API's links use: `{id}` (simple) and
 * `{?a,b}` (form-style query). Unset or empty variables are left out of the query.
 */
export function expand(template: string, vars: Record<string, string | number | undefined> = {}): string {
  return template.replace(/\{([?&]?)([^}]+)\}/g, (_m, op: string, names: string) => {
    const list = names.split(',').map((n) => n.trim());
    if (!op) return list.map((n) => encodeURIComponent(String(vars[n] ?? ''))).join(',');
    const pairs = list.filter((n) => vars[n] !== undefined && vars[n] !== '').map((n) => `${n}=${encodeURIComponent(String(vars[n]))}`);
    if (!pairs.length) return '';
    return (op === '?' ? '?' : '&') + pairs.join('&');
  });
}

/** The variable names of a template, in order (`/v1/x{?page,size}` → page, size). */
export function variables(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(/\{[?&]?([^}]+)\}/g)) names.push(...m[1].split(',').map((n) => n.trim()));
  return names;
}

/**
 * Matches an href against a template's path (`/v1/orders/{id}`): the variables, or
 * undefined. Query templates are ignored, so `/v1/orders/1?x` matches too.
 */
export function match(template: string, href: string): Record<string, string> | undefined {
  const path = template.replace(/\{[?&][^}]*\}/g, '');
  const names: string[] = [];
  const pattern = path.replace(/[.*+^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, n: string) => {
    names.push(n);
    return '([^/?#]+)';
  });
  const m = new RegExp(`^${pattern}(?:[?#].*)?$`).exec(href);
  if (!m) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
}
