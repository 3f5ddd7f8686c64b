// The package (a dependency of ioredis, used here for Redis Cluster hash slots) ships no types.
declare module 'cluster-key-slot' {
  /** CRC16 of the key's hash tag (or of the whole key), mod 16384. */
  export default function calculateSlot(key: string | Buffer): number;
}
