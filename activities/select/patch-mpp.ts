import type { PatchCandidate } from '../wsi/patch-grid.js';
import type { SlideReader } from '../wsi/slide-reader.js';

/**
 * µm per pixel of a candidate's pixels as read: level-0 mpp (the manifest's override, else the
 * file's) × the level's downsample × the target-mpp scaling. Undefined when nobody knows the mpp.
 */
export function patchMpp(
  reader: Pick<SlideReader, 'mpp' | 'levels'>,
  candidate: PatchCandidate,
  mppOverride?: number,
): number | undefined {
  const level0 = mppOverride ?? (reader.mpp ? (reader.mpp.x + reader.mpp.y) / 2 : undefined);
  if (level0 === undefined) return undefined;
  const downsample = reader.levels[candidate.level]?.downsample ?? 1;
  return level0 * downsample * (candidate.width / (candidate.outputWidth ?? candidate.width));
}
