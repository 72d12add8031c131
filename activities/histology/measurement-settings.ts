// Every constant the patch measurements rest on, in one place, so that a change is one edit and one
// version bump. Pixel fallbacks (used when the microns per pixel are unknown) equal the µm values at
// 0.5 µm/px (a 20× scan), the coarser of the two common scans, so no real structure is dropped on
// either; at 0.25 µm/px they are merely more permissive.

/** Bumped whenever a constant or a rule below changes, so stored measurements can be told apart. */
export const measurementsVersion = 'histology-measurements/1';

export const measurementSettings = {
  /** A pixel is white (bright, unstained: glass, fat, lumina) when every channel is ≥ minChannel and max − min ≤ maxChroma. */
  white: { minChannel: 200, maxChroma: 22 },
  /** A pixel with every channel below this is a dark artefact (scanner border, ink), neither tissue nor white. */
  darkMaxChannel: 25,
  /** A tissue pixel is eosin-dominant when its eosin OD exceeds its hematoxylin OD by at least this much. */
  eosinDominanceMargin: 0.04,
  /** Histogram of stain OD over tissue pixels, for the 90th percentile: bins of 0.005 OD up to 3 (clipped above). */
  histogram: { maxOd: 3, bins: 600 },
  nuclei: {
    /** Hematoxylin OD (after a 3×3 box mean) at or above which a tissue pixel belongs to a nucleus. */
    hematoxylinThreshold: 0.3,
    /** Components (8-connected) smaller than this are chromatin specks or noise, not nuclei. */
    minAreaUm2: 10,
    minAreaPx: 40,
    /**
     * A clump of touching nuclei: larger than clumpAreaFactor × the median component and not one
     * rounded body (moment-ellipse axis ratio ≥ clumpMinElongation, or ellipse fill below
     * clumpMaxEllipseFill: two touching discs give ≈ 2.2 and 0.89, three give ≈ 1.0 and 0.82, one
     * disc or ellipse 1.0). A clump counts as area / median nuclei, at least 2; a large rounded
     * nucleus counts as one.
     */
    clumpAreaFactor: 1.5,
    clumpMinElongation: 1.6,
    clumpMaxEllipseFill: 0.88,
  },
  whiteSpace: {
    /** White regions (4-connected, so thin diagonal septa still separate them) smaller than this are specks. */
    minRegionUm2: 20,
    minRegionPx: 80,
    /** Fat: adipocyte-sized (equivalent diameter ≥ 25 µm), isodiametric, filling its moment ellipse, mostly inside the patch. */
    fatMinAreaUm2: 490,
    fatMinAreaPx: 2000,
    /** Ratio of the axes of the region's moment ellipse. */
    fatMaxElongation: 2.5,
    /** Region area / area of its moment ellipse (1 for a disc, ~0.95 for a square, low for branched or ragged regions). */
    fatMinEllipseFill: 0.8,
    /** Pixels on the patch edge / equivalent diameter: ≤ 1.41 for a disc cut through its centre, ≥ 2.5 for glass along a side. */
    fatMaxBorderContact: 1.5,
    /** Lumina are enclosed by tissue: at most this much patch edge per equivalent diameter. */
    lumenMaxBorderContact: 0.25,
  },
  /** Sobel gradient magnitude (on the 0–255 channel mean) above which a pixel counts as an edge: a sharp step of ~25 grey levels. */
  sobelThreshold: 100,
} as const;
