import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { linkOf, type Link, type Resource } from './api';
import { hashOf } from './router';
import { match } from './uri-template';

/** One aggregate's machine graph, as `GET /v1/machines` lists it. */
export interface Machine extends Resource {
  type: string;
  topic: string;
  initial: string;
  states: { name: string; final?: boolean }[];
  transitions: { from: string; to: string; event: string; guard?: string; commands?: string[] }[];
  commands: { name: string; event: string; creates?: boolean; public?: boolean }[];
  compensations: string[];
}

/** What every view can read: the entry point and the machines, loaded once by the shell. */
export interface Discovery {
  root: Resource;
  machines: Machine[];
}

export const DiscoveryContext = createContext<Discovery>({ root: {}, machines: [] });
export const useDiscovery = (): Discovery => useContext(DiscoveryContext);

const pathOf = (href: string): string => href.replace(/\{[?&][^}]*\}/g, '').split('?')[0];

/** The console's name for a machine's collection: the last segment of its path (`accounts`). */
export function slugOf(machine: Machine): string {
  const collection = linkOf(machine, 'collection')?.href ?? linkOf(machine, 'self')?.href ?? machine.type;
  return pathOf(collection).split('/').filter(Boolean).pop() ?? machine.type;
}

export const machineBySlug = (machines: Machine[], slug: string): Machine | undefined => machines.find((m) => slugOf(m) === slug);

/** Human text for `ACCOUNT_ACTIVE`, `postOrder`, `lineItems`. */
export function humanize(name: string): string {
  const spaced = name.includes('_') ? name.toLowerCase().replace(/_/g, ' ') : name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/**
 * The console page for an API href, so that every link between resources becomes a console
 * link: an aggregate item or collection of a known machine, a correlation's timeline, or
 * else the generic resource view.
 */
export function consoleHref(href: string, discovery: Discovery): string {
  for (const m of discovery.machines) {
    const item = linkOf(m, 'item');
    const vars = item && match(item.href, href);
    if (vars?.id) return hashOf([slugOf(m), vars.id]);
  }
  const correlation = linkOf(discovery.root, 'correlation');
  const c = correlation && match(correlation.href, href);
  if (c && Object.values(c)[0]) return hashOf(['timeline', Object.values(c)[0]]);
  for (const m of discovery.machines) {
    const collection = linkOf(m, 'collection');
    if (collection && pathOf(collection.href) === href.split('?')[0] && !href.includes('?')) return hashOf([slugOf(m)]);
  }
  return hashOf(['resource'], { href });
}

/** The links of a resource that name another resource (not templates, not its own actions). */
export function relatedLinks(resource: Resource, skip: string[] = []): [string, Link][] {
  const out: [string, Link][] = [];
  for (const [rel, value] of Object.entries(resource._links ?? {})) {
    if (skip.includes(rel) || rel === 'self' || rel === 'curies') continue;
    for (const l of Array.isArray(value) ? value : [value]) if (!l.templated) out.push([rel, l]);
  }
  return out;
}
