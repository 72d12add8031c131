import { describe, expect, it } from 'vitest';
import { validateManifestRow } from '../../activities/manifest/index.js';

const good = { slideId: 'TCGA-05-4244-01Z-00-DX1.d4ff32cd', slide: 's3://bucket/slides/a.svs', project: 'LUAD' };

describe('validateManifestRow', () => {
  it('accepts a good row and normalises the project code', () => {
    expect(validateManifestRow({ ...good, report: 'Adenocarcinoma.', mppOverride: 0.25 }, 3)).toEqual({
      line: 3,
      row: { ...good, project: 'TCGA-LUAD', report: 'Adenocarcinoma.', mppOverride: 0.25 },
    });
    expect(validateManifestRow({ ...good, project: 'tcga-brca', reportUri: 'file:///r/a.txt' }, 1)).toEqual({
      line: 1,
      row: { ...good, project: 'TCGA-BRCA', reportUri: 'file:///r/a.txt' },
    });
  });

  it('names every bad field of a row at once', () => {
    const result = validateManifestRow(
      { slideId: '-bad id', project: 'TCGA-GBM', mppOverride: -1, colour: 'pink', report: 'x', reportUri: 'r.txt' },
      7,
    );
    expect(result).toEqual({
      line: 7,
      slideId: '-bad id',
      errors: [
        { field: 'slideId', message: expect.stringContaining('starting with a letter or digit, got "-bad id"') },
        { field: 'slide', message: 'is required' },
        { field: 'project', message: expect.stringContaining('unknown TCGA project "TCGA-GBM"') },
        { field: 'mppOverride', message: 'must be greater than 0' },
        { field: 'colour', message: expect.stringMatching(/^unknown field \(expected slideId, slide, report/) },
      ],
    });
  });

  it('rejects both report and reportUri, empty reports, foreign URI schemes and wrong types', () => {
    const errorsOf = (raw: unknown) => {
      const result = validateManifestRow(raw, 1);
      return 'errors' in result ? result.errors : [];
    };
    expect(errorsOf({ ...good, report: 'a', reportUri: 'b' })).toEqual([
      { field: 'reportUri', message: 'give either report or reportUri, not both' },
    ]);
    expect(errorsOf({ ...good, report: '  ' })).toEqual([
      { field: 'report', message: 'is empty (leave the field out when there is no report)' },
    ]);
    expect(errorsOf({ ...good, slide: 'https://example.org/a.svs' })).toEqual([
      { field: 'slide', message: 'must be a path, a store key, or a file:// or s3:// URI' },
    ]);
    expect(errorsOf({ ...good, mppOverride: '0.25' })).toEqual([
      { field: 'mppOverride', message: 'must be a number of microns per pixel, got "0.25"' },
    ]);
    expect(errorsOf({ ...good, slideId: 'x'.repeat(201) })).toHaveLength(1);
    expect(errorsOf([good])).toEqual([{ field: '(row)', message: 'must be an object, got an array' }]);
  });
});
