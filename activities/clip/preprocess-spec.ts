// How a CLIP model wants its pixels: what open_clip's evaluation transform does for that model,
// read from the model directory's config.json. PathGen reads 672×672 patches and scores at 336.
export interface PreprocessSpec {
  /** Output side in pixels (square). */
  imageSize: number;
  /** Per-channel mean and std after scaling to [0, 1] (RGB order). */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** open_clip's resize_mode: `shortest` resizes the short side then centre-crops; `squash` resizes both sides. */
  resizeMode: 'shortest' | 'squash';
  interpolation: 'bicubic' | 'bilinear';
}

/** OpenAI CLIP's normalisation, which PathGen's models use. */
export const openAiClipMean = [0.48145466, 0.4578275, 0.40821073] as const;
export const openAiClipStd = [0.26862954, 0.26130258, 0.27577711] as const;
