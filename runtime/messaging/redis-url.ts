/**
 * What `REDIS_URL` names: one Redis (`redis://[user:password@]host:port[/db]`, `rediss://` for
 * TLS), or a Redis Cluster by some of its nodes:
 * `redis+cluster://[user:password@]host1:port1,host2:port2,...` (`rediss+cluster://` for
 * TLS). The client learns the other nodes and the slot map from the ones named; naming every
 * master lets it start while one is down.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

/** Parses a `REDIS_URL`; throws an Error whose message says what is wrong. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    // Throws on a malformed URL (the config reports it).
    new URL(url);
    return { kind: 'single', url };
  }
  if (scheme !== 'redis+cluster' && scheme !== 'rediss+cluster')
    throw new Error('must start with redis://, rediss://, redis+cluster:// or rediss+cluster://');
  let rest = url.slice(scheme.length + 3).replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const [user, ...pass] = rest.slice(0, at).split(':');
    username = user ? decodeURIComponent(user) : undefined;
    password = pass.length ? decodeURIComponent(pass.join(':')) : undefined;
    rest = rest.slice(at + 1);
  }
  if (rest.includes('/') || rest.includes('?')) throw new Error('a cluster URL names nodes only (a cluster has no database number)');
  const nodes = rest.split(',').map((part) => {
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d{1,5})$/i.exec(part.trim());
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) throw new Error(`cluster node "${part}" is not host:port`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  });
  return { kind: 'cluster', nodes, username, password, tls: scheme === 'rediss+cluster' };
}
