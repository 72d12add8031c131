import { describe, expect, it } from 'vitest';
import { classifyWhiteRegion, measureWhiteSpace } from '../../activities/histology/white-space.js';

const size = 400;

/** A white mask of the pixels for which `inside(x, y)` holds. */
function mask(inside: (x: number, y: number) => boolean): Uint8Array {
  const white = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) white[y * size + x] = inside(x, y) ? 1 : 0;
  return white;
}

const disc = (cx: number, cy: number, r: number) => (x: number, y: number) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

describe('white regions', () => {
  it('calls an adipocyte-sized disc fat, inside the field or cut through its centre by the edge', () => {
    // r = 80 px at 0.25 µm/px: 40 µm across.
    for (const white of [mask(disc(200, 200, 80)), mask(disc(0, 200, 80))]) {
      const space = measureWhiteSpace(white, size, size, 0.25);
      expect(space.fatPx).toBe(space.whitePx);
      expect(space.lumenPx).toBe(0);
    }
  });

  it('calls glass along a side or in a corner background', () => {
    for (const white of [mask((x) => x >= 300), mask((x, y) => x + y < 150)]) {
      const space = measureWhiteSpace(white, size, size, 0.25);
      expect(space.whitePx).toBeGreaterThan(0);
      expect(space.fatPx + space.lumenPx).toBe(0);
    }
  });

  it('calls enclosed spaces too small, too long or too ragged for fat lumina', () => {
    const small = mask(disc(200, 200, 30)); // 15 µm across: an acinus, not an adipocyte
    const slit = mask((x, y) => Math.abs(x - 200) < 90 && Math.abs(y - 200) < 8);
    const cross = mask(
      (x, y) =>
        (Math.abs(x - 200) < 100 && Math.abs(y - 200) < 15) || (Math.abs(y - 200) < 100 && Math.abs(x - 200) < 15),
    );
    for (const white of [small, slit, cross]) {
      const space = measureWhiteSpace(white, size, size, 0.25);
      expect(space.lumenPx).toBe(space.whitePx);
      expect(space.fatPx).toBe(0);
    }
  });

  it('leaves specks below the minimum area as plain white', () => {
    const space = measureWhiteSpace(mask(disc(200, 200, 2)), size, size, 0.25);
    expect(space.whitePx).toBeGreaterThan(0);
    expect(space.fatPx + space.lumenPx).toBe(0);
  });

  it('uses the pixel fallbacks without microns per pixel, and µm² with them', () => {
    const shape = { areaPx: 1500, borderPx: 0, elongation: 1, ellipseFill: 1 };
    // 1,500 px is 94 µm² at 0.25 µm/px (a lumen) but 1,350 µm² at 0.95 µm/px (an adipocyte).
    expect(classifyWhiteRegion(shape, 0.25)).toBe('lumen');
    expect(classifyWhiteRegion(shape, 0.95)).toBe('fat');
    expect(classifyWhiteRegion(shape, undefined)).toBe('lumen');
    expect(classifyWhiteRegion({ ...shape, areaPx: 2500 }, undefined)).toBe('fat');
  });

  it('keeps regions that touch only diagonally apart (4-connected)', () => {
    // Two squares meeting at one corner: 8-connected they would be one long diagonal region (a lumen).
    const square = (low: number) => (x: number, y: number) => x >= low && x < low + 150 && y >= low && y < low + 150;
    const white = mask((x, y) => square(50)(x, y) || square(200)(x, y));
    const space = measureWhiteSpace(white, size, size, 0.25);
    expect(space.fatPx).toBe(space.whitePx);
  });
});
