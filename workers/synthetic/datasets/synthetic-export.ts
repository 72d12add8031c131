import sharp from 'sharp';
import { exportKeys } from '../../../activities/contracts/keys.js';
import { exportDataset } from '../../../activities/export/index.js';
import type { ExportSample } from '../../../activities/export/index.js';
import type { ObjectStore } from '../../../activities/store/object-store.js';
import { seededRandom } from '../../../activities/common/seeded-random.js';

// A small pathgen export of two visually and verbally distinct kinds of patch, written through the
// real export code (WebDataset shards + pointer), for training tests: pink sparse tissue captioned
// as such, purple crowded nuclei captioned as such.

export const syntheticKinds = [
  { name: 'pink', caption: 'Pale pink stroma with sparse small nuclei.', base: [230, 160, 190], dots: 6 },
  { name: 'purple', caption: 'Crowded dark purple nuclei in a dense cellular sheet.', base: [170, 120, 190], dots: 40 },
] as const;

export async function syntheticPatch(kind: (typeof syntheticKinds)[number], seed: number, size = 96): Promise<Buffer> {
  const random = seededRandom(seed);
  const rgb = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.max(0, Math.min(255, kind.base[c]! + (random() - 0.5) * 30));
  }
  for (let d = 0; d < kind.dots; d++) {
    const cx = random() * size;
    const cy = random() * size;
    const r = 2 + random() * 3;
    for (let y = Math.floor(cy - r); y <= cy + r; y++) {
      for (let x = Math.floor(cx - r); x <= cx + r; x++) {
        if (x < 0 || y < 0 || x >= size || y >= size || (x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        rgb.set([70, 40, 120], (y * size + x) * 3);
      }
    }
  }
  return sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function writeSyntheticExport(
  store: ObjectStore,
  runId: string,
  options: { samples: number; samplesPerShard: number; seed?: number },
): Promise<{ exportPrefix: string; samples: number; shards: number }> {
  const samples: ExportSample[] = [];
  for (let i = 0; i < options.samples; i++) {
    const kind = syntheticKinds[i % syntheticKinds.length]!;
    const jpeg = await syntheticPatch(kind, (options.seed ?? 0) * 100_003 + i);
    samples.push({
      key: `slide-${kind.name}_${String(i).padStart(5, '0')}`,
      slideId: `slide-${kind.name}`,
      x: (i % 10) * 672,
      y: Math.floor(i / 10) * 672,
      level: 0,
      caption: kind.caption,
      jpeg: () => Promise.resolve(jpeg),
      metadata: { kind: kind.name },
    });
  }
  const exportPrefix = exportKeys.prefix(runId);
  const result = await exportDataset(samples, {
    store,
    exportPrefix,
    version: 'v1',
    createdAt: '2026-11-29T00:00:00.000Z',
    samplesPerShard: options.samplesPerShard,
    formats: { webdataset: true, csv: false, pathgenJson: false },
  });
  return { exportPrefix, samples: result.pointer.samples, shards: result.pointer.shards };
}
