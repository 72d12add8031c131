import type { Context } from 'hono';
import type { ObjectStore } from '../../activities/store/object-store.js';

// Thumbnails and patches straight from the store, with an ETag from the store's own metadata so a
// browser revalidating an image costs one metadata request and a 304, not the bytes again.

const contentTypes: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg' };

/** `If-None-Match` holds this tag (or `*`)? Weak and strong forms compare alike, as for GET. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

export async function serveStoreImage(c: Context, store: ObjectStore, key: string): Promise<Response> {
  const info = await store.head(key);
  if (!info) return c.text(`no image at ${key}`, 404);
  const tag = info.etag
    ? `"${info.etag.replace(/"/g, '')}"`
    : `W/"${info.size.toString(16)}-${info.lastModified.getTime().toString(16)}"`;
  // Stored images are written once under content-addressed prefixes; revalidate after an hour anyway.
  const headers = { ETag: tag, 'Cache-Control': 'private, max-age=3600' };
  if (matches(c.req.header('if-none-match'), tag)) return c.body(null, 304, headers);
  const extension = key.split('.').pop()?.toLowerCase() ?? '';
  const body = await store.get(key);
  return c.body(new Uint8Array(body), 200, {
    ...headers,
    'Content-Type': contentTypes[extension] ?? 'application/octet-stream',
    'Content-Length': String(body.length),
  });
}
