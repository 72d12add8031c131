import { stainVectors } from '../../../activities/histology/stain-deconvolution.js';
import type { TissueStyle } from './tissue-style.js';
import { band, epithelium, stroma } from './tissue-regions.js';

// Colours a region map (tissue-regions.ts) as H&E: Beer–Lambert mixing with the stain vectors the
// measurements deconvolve with (activities/histology), through a lookup table instead of a power
// per pixel, with fibre streaks from a sine table and per-pixel noise from a hash of the position.

/**
 * 8-bit intensity of every optical density in steps of 1/odSteps up to maxOd (far above any stain
 * mix drawn here), so colouring is three look-ups and no power per pixel.
 */
const odSteps = 1000;
const maxOd = 8;
const intensity = Uint8Array.from({ length: maxOd * odSteps + 1 }, (_, i) =>
  Math.min(255, Math.max(0, Math.round(256 * 10 ** -(i / odSteps) - 1))),
);

/** The mean colour of bare glass (and of fat and lumina) as painted: a trace of both stains. */
const glassOd = 0.006;
export const glassRgb: readonly [number, number, number] = [0, 1, 2].map(
  (c) => intensity[Math.round(glassOd * (stainVectors.hematoxylin[c]! + stainVectors.eosin[c]!) * odSteps)]!,
) as [number, number, number];
const sineSteps = 1024;
const sineMask = sineSteps - 1;
const sine = Float32Array.from({ length: sineSteps }, (_, i) => Math.sin((2 * Math.PI * i) / sineSteps));

/**
 * Packed RGB of a rectangle from its region map and the nucleus weight of each pixel. `salt` and
 * `px` (µm to level-0 pixels) are the painter's, so a pixel's noise and fibres do not depend on
 * how the slide is cut into tiles.
 */
export function colourRegions(
  style: TissueStyle,
  salt: number,
  px: (um: number) => number,
  region: Uint8Array,
  nucleusWeight: Float32Array,
  x0: number,
  y0: number,
  width: number,
  height: number,
): Buffer {
  const { stroma: st, nuclei, glands, septa } = style;
  const ep = glands?.epithelium ?? st;
  const se = septa ?? st;
  const [hR, hG, hB] = stainVectors.hematoxylin;
  const [eR, eG, eB] = stainVectors.eosin;
  // The region kinds as locals: an imported binding is read again on every use in the pixel loop.
  const stromaKind = stroma;
  const epitheliumKind = epithelium;
  const bandKind = band;
  const out = Buffer.allocUnsafe(width * height * 3);
  // Fibres: eosin streaks along two slowly bending directions, read from a sine table.
  const k1 = sineSteps / (2 * Math.PI * px(2.2));
  const k2 = sineSteps / (2 * Math.PI * px(7));
  const fibres = 0.5 * st.fibres;
  const sH = st.hematoxylin;
  const sE = st.eosin;
  const pH = ep.hematoxylin;
  const pE = ep.eosin;
  const nH = nuclei.hematoxylin;
  const od = (value: number): number => intensity[(value * odSteps + 0.5) | 0]!;
  for (let row = 0, i = 0; row < height; row++) {
    const y = y0 + row;
    const bend = 40 * sine[((y * k2 * 0.11) | 0) & sineMask]!;
    const rowHash = Math.imul(y, 0x165667b1) ^ salt;
    for (let col = 0; col < width; col++, i++) {
      const kind = region[i]!;
      // Pixel noise from a hash of the position, so a pixel is the same however the slide is
      // cut into tiles; two uniform numbers from its high and low halves.
      let noise = Math.imul(x0 + col, 0x27d4eb2d) ^ rowHash;
      noise = Math.imul(noise ^ (noise >>> 15), 0x85ebca6b);
      noise ^= noise >>> 13;
      const r1 = (noise >>> 16) / 65536 - 0.5;
      const r2 = (noise & 0xffff) / 65536 - 0.5;
      let h: number;
      let e: number;
      if (kind === stromaKind) {
        const x = x0 + col;
        const streak =
          1 +
          fibres *
            (sine[((x * 0.8 + y * 0.6 + bend) * k1) & sineMask]! + 0.6 * sine[((x * 0.3 - y * 0.95) * k2) & sineMask]!);
        const fibre = (1 + 0.3 * r1) * streak;
        const w = nucleusWeight[i]!;
        h = sH * fibre + w * nH * (1 + 0.3 * r2);
        e = sE * fibre * (1 - 0.6 * w) + 0.08 * w;
      } else if (kind === epitheliumKind || kind === bandKind) {
        const fibre = 1 + 0.3 * r1;
        const w = nucleusWeight[i]!;
        h = (kind === bandKind ? se.hematoxylin : pH) * fibre + w * nH * (1 + 0.3 * r2);
        e = (kind === bandKind ? se.eosin : pE) * fibre * (1 - 0.6 * w) + 0.08 * w;
      } else {
        h = glassOd + 0.004 * r1;
        e = glassOd + 0.004 * r2;
      }
      const at = 3 * i;
      out[at] = od(h * hR + e * eR);
      out[at + 1] = od(h * hG + e * eG);
      out[at + 2] = od(h * hB + e * eB);
    }
  }
  return out;
}
