// White space split by shape: fat, lumina and the rest (glass background and specks). Adipocytes
// are large, isodiametric, convex clear regions, mostly inside the field; lumina are clear regions
// enclosed by tissue; glass runs along the patch edge. The rules and their constants are in
// measurement-settings.ts.
import { componentShapes, labelComponents } from './connected-components.js';
import { measurementSettings } from './measurement-settings.js';

export interface WhiteSpaceMeasurement {
  whitePx: number;
  fatPx: number;
  lumenPx: number;
}

export type WhiteRegionKind = 'fat' | 'lumen' | 'background';

export interface WhiteRegionShape {
  areaPx: number;
  /** Region pixels on the outermost rows and columns of the patch. */
  borderPx: number;
  /** Axis ratio of the moment ellipse (≥ 1). */
  elongation: number;
  /** Area / area of the moment ellipse. */
  ellipseFill: number;
}

/** The documented rule that names one white region. */
export function classifyWhiteRegion(shape: WhiteRegionShape, mpp: number | undefined): WhiteRegionKind {
  const s = measurementSettings.whiteSpace;
  const toPx = (um2: number, px: number): number => (mpp !== undefined ? um2 / (mpp * mpp) : px);
  if (shape.areaPx < toPx(s.minRegionUm2, s.minRegionPx)) return 'background';
  const equivalentDiameter = 2 * Math.sqrt(shape.areaPx / Math.PI);
  const borderContact = shape.borderPx / equivalentDiameter;
  if (
    shape.areaPx >= toPx(s.fatMinAreaUm2, s.fatMinAreaPx) &&
    shape.elongation <= s.fatMaxElongation &&
    shape.ellipseFill >= s.fatMinEllipseFill &&
    borderContact <= s.fatMaxBorderContact
  )
    return 'fat';
  return borderContact <= s.lumenMaxBorderContact ? 'lumen' : 'background';
}

/** `white` is 1 on white pixels (width × height, row-major). */
export function measureWhiteSpace(
  white: Uint8Array,
  width: number,
  height: number,
  mpp: number | undefined,
): WhiteSpaceMeasurement {
  const n = width * height;
  const labels = new Int32Array(n);
  const regions = labelComponents(white, width, height, 4, labels, new Int32Array(n));
  if (regions === 0) return { whitePx: 0, fatPx: 0, lumenPx: 0 };

  const shapes = componentShapes(labels, regions, width, height);
  let whitePx = 0;
  let fatPx = 0;
  let lumenPx = 0;
  for (let label = 1; label <= regions; label++) {
    const areaPx = shapes.area[label]!;
    const kind = classifyWhiteRegion(
      {
        areaPx,
        borderPx: shapes.borderPx[label]!,
        elongation: shapes.elongation[label]!,
        ellipseFill: shapes.ellipseFill[label]!,
      },
      mpp,
    );
    whitePx += areaPx;
    if (kind === 'fat') fatPx += areaPx;
    else if (kind === 'lumen') lumenPx += areaPx;
  }
  return { whitePx, fatPx, lumenPx };
}
