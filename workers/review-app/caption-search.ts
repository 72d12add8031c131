import { z } from 'zod';
import { PathgenError } from '../../activities/common/errors.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { exportVersions } from './run-catalog.js';

// Full-text search over a run's captions. A run of 4,000 slides has about a million captions, one
// store object each: reading them per search cannot work. The export already gathers every caption
// of the run into one object (`pathgen.json`), so the index is built from the latest export version
// once, held in memory, and rebuilt only when the export pointer names a new version. Captions of
// slides not exported yet are not searchable; the page says which version it searched.

export interface CaptionHit {
  /** The export's slide id (`wsi_id`). */
  wsiId: string;
  patchId: string;
  caption: string;
}

export interface CaptionSearchResult {
  /** The export version searched, or undefined when the run has no export with captions. */
  version?: string;
  hits: CaptionHit[];
  /** Every match, of which `hits` holds the first `limit`. */
  total: number;
}

const pathgenJsonSchema = z.array(
  z.looseObject({ wsi_id: z.string(), position: z.tuple([z.string(), z.string()]), caption: z.string() }),
);

interface CaptionIndex {
  version: string;
  entries: { hit: CaptionHit; folded: string }[];
}

const fold = (text: string): string => text.normalize('NFKD').toLowerCase();
const wordsOf = (query: string): string[] => fold(query).split(/\s+/).filter(Boolean);

export class CaptionSearch {
  private readonly indexes = new Map<string, Promise<CaptionIndex | undefined>>();

  constructor(private readonly store: ObjectStore) {}

  /** Captions containing every word of the query (case-insensitive), in export order. */
  async search(runId: string, query: string, limit: number): Promise<CaptionSearchResult> {
    const index = await this.indexOf(runId);
    if (!index) return { hits: [], total: 0 };
    const words = wordsOf(query);
    const matches = index.entries.filter((entry) => words.every((word) => entry.folded.includes(word)));
    return { version: index.version, hits: matches.slice(0, limit).map((entry) => entry.hit), total: matches.length };
  }

  private async indexOf(runId: string): Promise<CaptionIndex | undefined> {
    const { latest } = await exportVersions(this.store, runId);
    const key = latest?.files.pathgenJson;
    if (!latest || !key) return undefined;
    const cacheKey = `${runId}\n${latest.version}`;
    let index = this.indexes.get(cacheKey);
    if (!index) {
      for (const old of this.indexes.keys()) if (old.startsWith(`${runId}\n`)) this.indexes.delete(old);
      index = this.build(key, latest.version);
      this.indexes.set(cacheKey, index);
      // A failed build is not cached: the next search tries again.
      void index.catch(() => this.indexes.delete(cacheKey));
    }
    return index;
  }

  private async build(key: string, version: string): Promise<CaptionIndex> {
    const parsed = pathgenJsonSchema.safeParse(JSON.parse((await this.store.get(key)).toString('utf8')));
    if (!parsed.success) throw new PathgenError('ExportInvalid', `${key} is not a PathGen JSON file`, { key });
    const entries = parsed.data.map((row) => ({
      hit: { wsiId: row.wsi_id, patchId: `${row.position[0]}_${row.position[1]}`, caption: row.caption },
      folded: fold(row.caption),
    }));
    return { version, entries };
  }
}
