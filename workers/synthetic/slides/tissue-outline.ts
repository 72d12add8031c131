// The shape of a section on the slide, as the painter (tissue-painter.ts) and the septa
// (lobule-septa.ts) ask for it.

/** Where tissue is: a signed margin in level-0 pixels (positive inside) and a quick rectangle test. */
export interface TissueOutline {
  margin(x: number, y: number): number;
  cover(x: number, y: number, width: number, height: number): 'all' | 'none' | 'some';
}

export const everywhere: TissueOutline = { margin: () => Infinity, cover: () => 'all' };
