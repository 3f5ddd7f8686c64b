/**
 * The fields of a message's entry on a partition stream: its type in `t`, beside the
 * envelope as JSON in `m`. The type lets a consumer pass over the types it does not handle
 * without parsing them. (Entries may carry only `m`: they are parsed.)
 */
export const TYPE_FIELD = 't';
export const MESSAGE_FIELD = 'm';

/** Orders two stream entry ids (`<ms>-<seq>`, each part up to 2^64-1) as Redis does. */
export function compareEntryIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** A field's value in an entry's flat `[name, value, ...]` list, or undefined. */
export function entryField(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
