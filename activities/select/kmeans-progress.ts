// What k-means reports while it runs: kmeans.ts passes it on from the seeding and from its Lloyd
// iterations, kmeans-seeding.ts reports the seeding steps.

export interface KmeansProgress {
  phase: 'seeding' | 'iterating';
  /** Centroids seeded so far, or Lloyd iterations done. */
  step: number;
  total: number;
  /** Largest centroid move of the last iteration. */
  shift?: number;
}
