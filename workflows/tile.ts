import { proxyActivities } from '@temporalio/workflow';
import type { TileActivities, TileSlideInput, TileSlideResult } from '../activities/stages/tile.js';
import { tileActivityOptions } from './activity-options.js';

const { tileSlide } = proxyActivities<TileActivities>(tileActivityOptions);

/**
 * Tiles one slide on the CPU queue: `temporal workflow start --type pathgenTile`. The full
 * per-slide pipeline (pathgenSlide) runs the same activity as its first stage.
 */
export async function pathgenTile(input: TileSlideInput): Promise<TileSlideResult> {
  return await tileSlide(input);
}
