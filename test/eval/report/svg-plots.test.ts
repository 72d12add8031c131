import { describe, expect, it } from 'vitest';
import { barChartSvg, confusionMatrixSvg, rocCurvesSvg } from '../../../activities/eval/report/index.js';
import { expectWellFormed, trickyClass } from './report-fixture.js';

const rects = (svg: string) => [
  ...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="(#[0-9a-f]{6})"/g),
];

describe('confusionMatrixSvg', () => {
  const classes = ['adipose', 'debris', trickyClass];
  const confusion = [
    [50, 0, 0],
    [5, 5, 0],
    [1, 2, 7],
  ];

  it('draws one cell per pair with its count, coloured by its share of the row', () => {
    const svg = confusionMatrixSvg(classes, confusion);
    expectWellFormed(svg);
    const cells = rects(svg);
    expect(cells).toHaveLength(9);
    const fill = (row: number, column: number) => cells[row * 3 + column]?.[4];
    expect(fill(0, 0)).toBe('#08519c'); // the whole row
    expect(fill(0, 1)).toBe('#ffffff'); // nothing
    expect(fill(1, 0)).toBe(fill(1, 1)); // half of its row each, whatever the row's size
    expect(fill(1, 0)).not.toBe(fill(0, 0));
    for (const count of ['50', '5', '7', '1', '2']) expect(svg).toContain(`>${count}</text>`);
    expect(svg).toContain('True class');
    expect(svg).toContain('Predicted class');
  });

  it('escapes class names, shortens long ones with the full name as a tooltip, and is deterministic', () => {
    const long = 'colorectal adenocarcinoma epithelium with a very long name';
    const svg = confusionMatrixSvg([...classes.slice(0, 2), long], confusion);
    expect(svg).toContain('colorectal adenocarcinoma e…');
    expect(svg).toContain(`<title>${long}</title>`);
    const tricky = confusionMatrixSvg(classes, confusion);
    expect(tricky).toContain('&lt;b&gt;&amp;&quot;tumour&quot;|x&lt;/b&gt;');
    expect(tricky).not.toContain(trickyClass);
    expect(confusionMatrixSvg(classes, confusion)).toBe(tricky);
  });

  it('stays well-formed for sixteen classes, empty rows and no classes', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => `class ${i}`);
    expectWellFormed(
      confusionMatrixSvg(
        sixteen,
        sixteen.map((_, i) => sixteen.map((__, j) => (i === j ? 3 : 0))),
      ),
    );
    expectWellFormed(
      confusionMatrixSvg(
        ['a', 'b'],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    );
    expectWellFormed(confusionMatrixSvg([], []));
  });
});

describe('barChartSvg', () => {
  it('draws bars proportional to value over max, with values printed as percentages', () => {
    const svg = barChartSvg(['a', 'b', trickyClass], [1, 0.5, Number.NaN], { title: 'Per-class accuracy', max: 1 });
    expectWellFormed(svg);
    const bars = rects(svg).filter((match) => match[4] === '#4c78a8');
    expect(bars.map((match) => Number(match[3]))).toEqual([320, 160, 0]);
    expect(svg).toContain('>100.0%</text>');
    expect(svg).toContain('>50.0%</text>');
    expect(svg).toContain('>n/a</text>');
    expect(svg).toContain('&lt;b&gt;');
  });

  it('takes another scale and format, and draws nothing for no labels', () => {
    const svg = barChartSvg(['x'], [30], { title: 'Counts', max: 40, format: (value) => value.toFixed(0) });
    expect(rects(svg).find((match) => match[4] === '#4c78a8')?.[3]).toBe('240');
    expect(svg).toContain('>30</text>');
    expectWellFormed(barChartSvg([], [], { title: 'Empty' }));
  });
});

describe('rocCurvesSvg', () => {
  const curve = { className: 'tumor', fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 1, 1], auc: 0.875 };

  it('draws the chance diagonal and one polyline per curve in plot coordinates, with AUC in the legend', () => {
    const svg = rocCurvesSvg([curve, { ...curve, className: trickyClass, auc: 0.5 }]);
    expectWellFormed(svg);
    expect(svg).toContain('<line x1="56" y1="354" x2="376" y2="34" stroke="#999999" stroke-dasharray="4 4"/>');
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((match) => match[1]);
    expect(polylines).toEqual(['56,354 56,194 216,34 376,34', '56,354 56,194 216,34 376,34']);
    expect(svg).toContain('tumor (AUC 87.5%)');
    expect(svg).toContain('&lt;b&gt;&amp;&quot;tumour&quot;');
    expect(rocCurvesSvg([curve])).toBe(rocCurvesSvg([curve]));
  });

  it('skips points that are not numbers, repeats after rounding, and dashes curves beyond ten', () => {
    const svg = rocCurvesSvg([{ ...curve, fpr: [0, Number.NaN, 0, 0.000001, 1], tpr: [0, 0.2, 0, 0, 1] }]);
    expect(svg).toMatch(/points="56,354 376,34"/);
    const many = rocCurvesSvg(Array.from({ length: 12 }, (_, i) => ({ ...curve, className: `class ${i}` })));
    expectWellFormed(many);
    expect([...many.matchAll(/<polyline [^>]*stroke-dasharray="6 3"/g)]).toHaveLength(2);
    expectWellFormed(rocCurvesSvg([]));
  });
});
