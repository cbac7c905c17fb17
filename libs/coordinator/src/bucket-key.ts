/**
 * Bucket items live under an internal key `bucket SEP item` in the bucket's partition. User
 * keys may not contain control characters (see checkKey), so SEP (U+0001) makes every internal
 * key differ from every plain key, and the bucket name ends before the first SEP.
 */
export const BUCKET_SEPARATOR = '\u0001';

export function bucketItemKey(bucket: string, item: string): string {
  return `${bucket}${BUCKET_SEPARATOR}${item}`;
}

/** The prefix every item key of a bucket starts with. */
export function bucketPrefix(bucket: string): string {
  return `${bucket}${BUCKET_SEPARATOR}`;
}

/** The item name of an internal key of this bucket. */
export function itemOfKey(bucket: string, internalKey: string): string {
  return internalKey.slice(bucket.length + BUCKET_SEPARATOR.length);
}
