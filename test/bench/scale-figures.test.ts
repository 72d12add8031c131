import { describe, expect, it } from 'vitest';
import { tarMemberNames } from '../../bench/scale-figures.js';
import { tarFileHeader } from '../../activities/export/tar-writer.js';
import { expectedSampleKeys, patchFails, scalePatchPosition, slideFails } from '../../workers/scale/scale-plan.js';

describe('scale figures', () => {
  it('reads back the member names our tar writer writes, long names included', () => {
    const long = `${'a'.repeat(120)}.txt`;
    const body = Buffer.from('caption');
    const padded = Buffer.concat([body, Buffer.alloc(512 - body.length)]);
    const tar = Buffer.concat([
      tarFileHeader('s_0_0.txt', body.length),
      padded,
      tarFileHeader(long, body.length),
      padded,
      Buffer.alloc(1024),
    ]);
    expect(tarMemberNames(tar)).toEqual(['s_0_0.txt', long]);
  });

  it('plans failures by id alone, near the asked share', () => {
    const plan = { slides: 200, patchesPerSlide: 50, failRate: 0.1 };
    const keys = [...expectedSampleKeys(plan)];
    expect(keys.length).toBeGreaterThan(200 * 50 * 0.75);
    expect(keys.length).toBeLessThan(200 * 50 * 0.88);
    expect(new Set(keys).size).toBe(keys.length);
    expect(slideFails(plan, 'scale-000001')).toBe(slideFails({ failRate: 0.1 }, 'scale-000001'));
    expect(patchFails({ failRate: 0 }, 'a', '0_0')).toBe(false);
    expect(scalePatchPosition(17)).toEqual({ x: 672, y: 672, id: '672_672' });
  });
});
