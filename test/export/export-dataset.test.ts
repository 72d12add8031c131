import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset, readExportPointer, sampleKey } from '../../activities/export/index.js';
import type { ExportPointer, ExportSample } from '../../activities/export/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { makeSamples } from './export-samples.js';
import type { TestSample } from './export-samples.js';
import { gnuTar, python, pythonTarMembers } from './tar-tools.js';

let dir: string;
let store: FsObjectStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-export-'));
  store = new FsObjectStore({ root: path.join(dir, 'store') });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const createdAt = '2025-01-02T03:04:05.000Z';

function shardKeys(pointer: ExportPointer): string[] {
  return Array.from(
    { length: pointer.shards },
    (_, i) => `${pointer.prefix}shards/shard-${String(i).padStart(6, '0')}.tar`,
  );
}

// webdataset's grouping rule: a member's key is its name up to the first dot of the base name.
const groupLikeWebDataset = `
import json, re, sys, tarfile
shards = []
for path in sys.argv[1:]:
    samples, current = [], None
    for m in tarfile.open(path, mode="r:"):
        key, ext = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", m.name).groups()
        if current is None or current["__key__"] != key:
            current = {"__key__": key}
            samples.append(current)
        current[ext] = m.size
    shards.append(samples)
print(json.dumps(shards))
`;

describe('exportDataset', () => {
  let samples: TestSample[];
  let pointer: ExportPointer;

  beforeAll(async () => {
    samples = await makeSamples(25);
    const result = await exportDataset(samples, {
      store,
      exportPrefix: 'exports/run-1',
      version: 'v1',
      createdAt,
      samplesPerShard: 10,
      failures: { NoTissue: 2, SlideUnreadable: 1, Ignored: 0 },
      countTokens: (text) => text.trim().split(/\s+/).length * 2 + 2,
    });
    pointer = result.pointer;
  });

  it('publishes a pointer naming the version, counts and shard pattern', async () => {
    expect(await readExportPointer(store, 'exports/run-1')).toEqual(pointer);
    expect(pointer).toMatchObject({
      format: 'pathgen-export/1',
      version: 'v1',
      prefix: 'exports/run-1/versions/v1/',
      createdAt,
      samples: 25,
      slides: 3,
      shards: 3,
      samplesPerShard: 10,
      shardPattern: 'exports/run-1/versions/v1/shards/shard-{000000..000002}.tar',
      previousVersions: [],
    });
    expect(JSON.parse((await store.get(`${pointer.prefix}export.json`)).toString())).toEqual(pointer);
  });

  it('writes shards webdataset reads: every key has .jpg, .txt, .json, adjacent, sorted, 10 per shard', async () => {
    const files = shardKeys(pointer).map((key) => store.localFile(key));
    const shards = JSON.parse(await python(groupLikeWebDataset, files)) as Array<Array<Record<string, unknown>>>;
    expect(shards.map((shard) => shard.length)).toEqual([10, 10, 5]);
    const sorted = samples.map((sample) => sample.key).sort();
    expect(shards.flat().map((sample) => sample.__key__)).toEqual(sorted);
    for (const sample of shards.flat()) expect(Object.keys(sample).sort()).toEqual(['__key__', 'jpg', 'json', 'txt']);
  });

  it('stores the exact image, caption and metadata of each sample', async () => {
    const members = (await pythonTarMembers(shardKeys(pointer).map((key) => store.localFile(key)))).flat();
    const byName = new Map(members.map((member) => [member.name, Buffer.from(member.hex, 'hex')]));
    for (const sample of samples) {
      expect(byName.get(`${sample.key}.jpg`)).toEqual(sample.bytes);
      expect(byName.get(`${sample.key}.txt`)?.toString('utf8')).toBe(sample.caption);
      const metadata = JSON.parse(byName.get(`${sample.key}.json`)?.toString('utf8') ?? '') as unknown;
      expect(metadata).toEqual({
        key: sample.key,
        slideId: sample.slideId,
        ...(sample.project === undefined ? {} : { project: sample.project }),
        x: sample.x,
        y: sample.y,
        level: 0,
        mpp: 0.25,
        ...sample.metadata,
      });
    }
    expect(members.every((member) => member.mtime === 0 && member.uid === 0 && member.mode === 0o644)).toBe(true);
  });

  it('writes shards GNU tar lists and extracts', async () => {
    const [first] = shardKeys(pointer);
    const listing = (await gnuTar(['-tvf', store.localFile(first as string)])).trim().split('\n');
    expect(listing).toHaveLength(30);
    const out = path.join(dir, 'extracted');
    await mkdir(out);
    await gnuTar(['-xf', store.localFile(first as string), '-C', out]);
    const firstKey = samples.map((sample) => sample.key).sort()[0] as string;
    const sample = samples.find((s) => s.key === firstKey) as TestSample;
    expect(await readFile(path.join(out, `${firstKey}.jpg`))).toEqual(sample.bytes);
    expect(await readFile(path.join(out, `${firstKey}.txt`), 'utf8')).toBe(sample.caption);
  });

  it("writes a TSV open_clip's pandas loader reads back, with images beside it", async () => {
    const tsv = store.localFile(pointer.files.csv as string);
    // pandas.read_csv(sep="\\t") quoting is the csv module's excel dialect with a tab delimiter.
    const rows = JSON.parse(
      await python(
        'import csv, json, sys\nprint(json.dumps(list(csv.DictReader(open(sys.argv[1], newline=""), delimiter="\\t"))))',
        [tsv],
      ),
    ) as Array<{ filepath: string; caption: string }>;
    expect(rows).toHaveLength(25);
    const sorted = [...samples].sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(rows).toEqual(sorted.map((sample) => ({ filepath: `images/${sample.key}.jpg`, caption: sample.caption })));
    for (const [i, row] of rows.entries()) {
      expect(await readFile(path.join(path.dirname(tsv), row.filepath))).toEqual(sorted[i]?.bytes);
    }
    const text = await readFile(tsv, 'utf8');
    expect(text.split('\n')[0]).toBe('filepath\tcaption');
    expect(text).toContain('\t"Tab\tinside, ""quoted"" words and a\nline break."\n');
  });

  it('writes the PathGen-1.6M JSON: wsi_id, position as strings, caption, file_id', async () => {
    const records = JSON.parse((await store.get(pointer.files.pathgenJson as string)).toString()) as unknown[];
    const sorted = [...samples].sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(records).toEqual(
      sorted.map((sample) => ({
        wsi_id: sample.slideId,
        position: [String(sample.x), String(sample.y)],
        caption: sample.caption,
        file_id: (sample.metadata.fileId as string | undefined) ?? '',
      })),
    );
    expect(Object.keys(records[0] as object)).toEqual(['wsi_id', 'position', 'caption', 'file_id']);
  });

  it('writes a dataset card and its JSON twin', async () => {
    const card = JSON.parse((await store.get(pointer.files.cardJson)).toString()) as Record<string, unknown>;
    expect(card).toMatchObject({
      format: 'pathgen-dataset-card/1',
      version: 'v1',
      createdAt,
      shards: 3,
      statistics: {
        samples: 25,
        slides: 3,
        projects: [
          { project: 'TCGA-COAD', slides: 1, samples: 9 },
          { project: 'TCGA-LUAD', slides: 1, samples: 8 },
          { project: 'unknown', slides: 1, samples: 8 },
        ],
      },
      failures: [
        { reason: 'NoTissue', count: 2 },
        { reason: 'SlideUnreadable', count: 1 },
      ],
    });
    const markdown = (await store.get(pointer.files.card)).toString();
    expect(markdown).toContain('| 25 | 3 | 3 | 10 |');
    expect(markdown).toContain('| TCGA-COAD | 1 | 9 | 36.0 % |');
    expect(markdown).toContain('| NoTissue | 2 |');
    expect(markdown).toContain("--train-data '<local copy>/shard-{…}.tar' --train-num-samples 25");
  });

  it('writes byte-identical shards for the same samples, from an array in any order or a sorted stream', async () => {
    const sorted = [...samples].sort((a, b) => (a.key < b.key ? -1 : 1));
    async function* stream() {
      for (const sample of sorted) yield await Promise.resolve(sample);
    }
    const again = [
      await exportDataset([...samples].reverse(), {
        store,
        exportPrefix: 'exports/run-1-again',
        version: 'other-version',
        createdAt: '2030-01-01T00:00:00.000Z',
        samplesPerShard: 10,
      }),
      await exportDataset(stream(), {
        store,
        exportPrefix: 'exports/run-1-streamed',
        version: 'v1',
        createdAt,
        samplesPerShard: 10,
        formats: { csv: false, pathgenJson: false },
      }),
    ];
    for (const { pointer: other } of again) {
      expect(other.shards).toBe(3);
      for (const [i, key] of shardKeys(pointer).entries()) {
        expect((await store.get(shardKeys(other)[i] as string)).equals(await store.get(key))).toBe(true);
      }
    }
    expect(again[1]?.pointer.files).toEqual({
      card: 'exports/run-1-streamed/versions/v1/dataset-card.md',
      cardJson: 'exports/run-1-streamed/versions/v1/dataset-card.json',
    });
  });
});

describe('exportDataset refuses', () => {
  const options = {
    store: undefined as unknown as FsObjectStore,
    exportPrefix: 'exports/bad',
    version: 'v1',
    createdAt,
  };
  const base = async (): Promise<ExportSample> => ({ ...(await makeSamples(1))[0]! });

  it('repeated keys, keys WebDataset would split, empty captions and conflicting metadata', async () => {
    const sample = await base();
    const opts = { ...options, store };
    await expect(exportDataset([sample, { ...sample }], opts)).rejects.toThrow(/two samples have the key/);
    await expect(exportDataset([{ ...sample, key: 'a.b_1_2' }], opts)).rejects.toThrow(/no dots/);
    await expect(exportDataset([{ ...sample, caption: ' ' }], opts)).rejects.toThrow(/empty caption/);
    await expect(exportDataset([{ ...sample, metadata: { x: 1 } }], opts)).rejects.toThrow(/sets x differently/);
    expect(await readExportPointer(store, 'exports/bad')).toBeUndefined();
  });

  it('a stream out of key order', async () => {
    const [first, second] = (await makeSamples(2)).sort((x, y) => (x.key < y.key ? 1 : -1));
    async function* descending() {
      yield await Promise.resolve(first as TestSample);
      yield await Promise.resolve(second as TestSample);
    }
    await expect(exportDataset(descending(), { ...options, store })).rejects.toThrow(
      `samples must come in key order: ${second?.key} after ${first?.key}`,
    );
  });
});

describe('sampleKey', () => {
  it('turns dots and other characters into dashes and refuses bad coordinates', () => {
    expect(sampleKey('TCGA-AA-3844-01Z-00-DX1.bf88ce1f', 35136, 33344)).toBe(
      'TCGA-AA-3844-01Z-00-DX1-bf88ce1f_35136_33344',
    );
    expect(sampleKey('slide_3', 0, 672)).toBe('slide_3_0_672');
    expect(() => sampleKey('s', -1, 0)).toThrow(/non-negative integers/);
    expect(() => sampleKey('s', 1.5, 0)).toThrow(/non-negative integers/);
  });
});
