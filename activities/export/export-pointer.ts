import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { exportKeys } from '../contracts/keys.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { forEachBounded } from './store-upload.js';

// Exports are versioned: every export writes a complete new version under
// `<exportPrefix>/versions/<version>/`, then replaces one small pointer object,
// `<exportPrefix>/LATEST.json`, that names it. A store put replaces an object atomically (a
// rename on a filesystem, a single PUT on S3), so a reader that resolves the pointer gets one
// whole version: never shards of two exports mixed. Versions the pointer no longer names are
// deleted afterwards; the previous one or few are kept (`retainPreviousVersions`) so a trainer
// that resolved the pointer just before a re-export can finish reading what it resolved.

export const exportPointerFormat = 'pathgen-export/1';
export const versionPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const exportPointerSchema = z.object({
  format: z.literal(exportPointerFormat),
  version: z.string().regex(versionPattern),
  /** Store key prefix of the version, ending in '/'. */
  prefix: z.string(),
  createdAt: z.string(),
  samples: z.number().int().nonnegative(),
  slides: z.number().int().nonnegative(),
  shards: z.number().int().nonnegative(),
  samplesPerShard: z.number().int().positive(),
  /** Brace pattern of the shard keys (`…/shard-{000000..000012}.tar`); null when there are none. */
  shardPattern: z.string().nullable(),
  files: z.object({
    csv: z.string().optional(),
    images: z.string().optional(),
    pathgenJson: z.string().optional(),
    card: z.string(),
    cardJson: z.string(),
  }),
  /** Earlier versions still kept, newest first. */
  previousVersions: z.array(z.string()),
});

export type ExportPointer = z.infer<typeof exportPointerSchema>;

/** The version a reader should use now, or undefined when nothing was exported yet. */
export async function readExportPointer(store: ObjectStore, exportPrefix: string): Promise<ExportPointer | undefined> {
  const key = exportKeys.pointer(exportPrefix);
  const bytes = await getIfExists(store, key);
  if (!bytes) return undefined;
  const parsed = exportPointerSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) {
    throw new PathgenError('ExportPointerInvalid', `${key} is not an export pointer: ${parsed.error.message}`, { key });
  }
  return parsed.data;
}

/** Replaces the pointer in one put: the moment readers switch to the new version. */
export async function writeExportPointer(
  store: ObjectStore,
  exportPrefix: string,
  pointer: ExportPointer,
): Promise<void> {
  await store.put(exportKeys.pointer(exportPrefix), Buffer.from(`${JSON.stringify(pointer, null, 2)}\n`), {
    contentType: 'application/json',
  });
}

/**
 * Deletes every object under `<exportPrefix>/versions/` that belongs to a version the pointer does
 * not name (current or kept): superseded exports and leftovers of exports that failed before
 * their flip. Only one export per prefix may run at a time, or this would remove a version that
 * another export is still writing. Returns the versions removed.
 */
export async function deleteUnreferencedVersions(
  store: ObjectStore,
  exportPrefix: string,
  pointer: ExportPointer,
): Promise<string[]> {
  const keep = new Set([pointer.version, ...pointer.previousVersions]);
  const root = exportKeys.versions(exportPrefix);
  const removed = new Set<string>();
  // Deleting page by page keeps memory flat for versions of a million images; a listing resumes
  // after the last key it returned, so deleting what it returned does not disturb it.
  let batch: string[] = [];
  const deleteBatch = async () => {
    await forEachBounded(batch, 16, (key) => store.delete(key));
    batch = [];
  };
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listPage(root, { ...(startAfter === undefined ? {} : { startAfter }), limit: 1000 });
    let jumped = false;
    for (const object of page.objects) {
      const version = object.key.slice(root.length).split('/')[0] ?? '';
      startAfter = object.key;
      if (keep.has(version)) {
        // Past the kept version in one step instead of listing its million objects: the fs store
        // then skips its folders unread, S3 starts the next page after it.
        const past = `${root}${version}/\uffff`;
        if (past > object.key) {
          startAfter = past;
          jumped = true;
          break;
        }
        continue;
      }
      removed.add(version);
      batch.push(object.key);
      if (batch.length === 1000) await deleteBatch();
    }
    if (!jumped && page.nextStartAfter === undefined) break;
  }
  await deleteBatch();
  return [...removed].sort();
}
