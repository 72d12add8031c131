// How one kind of tissue looks, in µm and stain optical densities: what tissue-painter.ts draws
// and tissue-kinds.ts defines for each demo kind.

export interface TissueStyle {
  /** Stroma (or the cytoplasm of a cell sheet): stain optical densities and fibre streaking (0–1). */
  stroma: { eosin: number; hematoxylin: number; fibres: number };
  nuclei: {
    spacingUm: number;
    /** Probability that a lattice cell in stroma holds a nucleus. */
    presence: number;
    radiusUm: number;
    /** Relative spread of the radius (0.3 = ±30 %). */
    radiusSpread: number;
    /** Minor/major axis ratio range. */
    aspect: [number, number];
    hematoxylin: number;
  };
  /** Fat vacuoles on a jittered grid, apart from each other by a septum of stroma. */
  fat?: { spacingUm: number; radiusUm: [number, number]; septumUm: number };
  /** Fibrous septa between lobules of fat, and a capsule along the section's edge. */
  septa?: { lobuleUm: number; widthUm: number; eosin: number; hematoxylin: number };
  /** Glands: a lumen (slit or round acinus) ringed by epithelium whose nuclei are denser. */
  glands?: {
    spacingUm: number;
    slitUm: [number, number];
    acinusRadiusUm: [number, number];
    epitheliumUm: number;
    epithelium: { eosin: number; hematoxylin: number; nucleusPresence: number };
  };
}
