// Colour deconvolution after Ruifrok & Johnston (Anal Quant Cytol Histol 2001): each stain absorbs
// light with a fixed RGB profile, so in optical density (OD) a pixel is a linear mix of the stain
// vectors and the inverse of the stain matrix recovers how much of each stain it holds. The third
// vector is the paper's DAB; on H&E it only soaks up what neither stain explains (the residual).
//
// OD form: OD = -log10((I + 1) / 256) for an 8-bit channel value I, so white (255) is exactly 0
// and black (0) is finite (log10 256 ≈ 2.408). The synthetic patches of the tests mix stains with
// the exact inverse of this (Beer–Lambert), so deconvolution sees colours consistent with it.

type Vector3 = readonly [number, number, number];

function normalised(vector: Vector3): Vector3 {
  const length = Math.hypot(vector[0], vector[1], vector[2]);
  return [vector[0] / length, vector[1] / length, vector[2] / length];
}

/** Unit RGB absorption profiles of the stains (Ruifrok & Johnston's H&E and DAB). */
export const stainVectors: { readonly hematoxylin: Vector3; readonly eosin: Vector3; readonly residual: Vector3 } = {
  hematoxylin: normalised([0.65, 0.7, 0.29]),
  eosin: normalised([0.07, 0.99, 0.11]),
  residual: normalised([0.27, 0.57, 0.78]),
};

function invert3(rows: readonly Vector3[]): Float64Array {
  const [a, b, c] = rows[0]!;
  const [d, e, f] = rows[1]!;
  const [g, h, i] = rows[2]!;
  const c00 = e * i - f * h;
  const c01 = -(d * i - f * g);
  const c02 = d * h - e * g;
  const determinant = a * c00 + b * c01 + c * c02;
  return Float64Array.of(
    c00 / determinant,
    -(b * i - c * h) / determinant,
    (b * f - c * e) / determinant,
    c01 / determinant,
    (a * i - c * g) / determinant,
    -(a * f - c * d) / determinant,
    c02 / determinant,
    -(a * h - b * g) / determinant,
    (a * e - b * d) / determinant,
  );
}

/**
 * The inverse stain matrix, row-major: with stain vectors as the rows of M, OD = C·M, so C = OD·M⁻¹
 * and the density of stain s is odR·unmixing[s] + odG·unmixing[3 + s] + odB·unmixing[6 + s]
 * (s = 0 hematoxylin, 1 eosin, 2 residual).
 */
export const stainUnmixing: Float64Array = invert3([
  stainVectors.hematoxylin,
  stainVectors.eosin,
  stainVectors.residual,
]);

/** OD of every 8-bit channel value, so hot loops never call log10. */
export const opticalDensityTable: Float32Array = Float32Array.from({ length: 256 }, (_, value) =>
  opticalDensity(value),
);

export function opticalDensity(channelValue: number): number {
  return -Math.log10((channelValue + 1) / 256);
}

export interface StainDensities {
  hematoxylin: number;
  eosin: number;
  residual: number;
}

/** Stain densities of one RGB colour; negative values (less than none of a stain) are kept as computed. */
export function separateStains(red: number, green: number, blue: number): StainDensities {
  const odR = opticalDensity(red);
  const odG = opticalDensity(green);
  const odB = opticalDensity(blue);
  const m = stainUnmixing;
  return {
    hematoxylin: odR * m[0]! + odG * m[3]! + odB * m[6]!,
    eosin: odR * m[1]! + odG * m[4]! + odB * m[7]!,
    residual: odR * m[2]! + odG * m[5]! + odB * m[8]!,
  };
}

/** The 8-bit RGB colour of given stain densities under Beer–Lambert mixing (the inverse of the OD form above). */
export function mixStains(hematoxylin: number, eosin: number, residual = 0): [number, number, number] {
  const { hematoxylin: vh, eosin: ve, residual: vr } = stainVectors;
  const channel = (c: 0 | 1 | 2): number => {
    const od = hematoxylin * vh[c] + eosin * ve[c] + residual * vr[c];
    return Math.min(255, Math.max(0, Math.round(256 * 10 ** -od - 1)));
  };
  return [channel(0), channel(1), channel(2)];
}
