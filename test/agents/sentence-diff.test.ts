import { describe, expect, it } from 'vitest';
import { diffSentences, isUnchanged, splitSentences } from '../../activities/agents/index.js';

describe('splitSentences', () => {
  it('does not end sentences at abbreviations, decimals, initials or list markers', () => {
    expect(
      splitSentences(
        'Nuclei are enlarged, e.g. up to 2.5 times a lymphocyte. The tumour measures approx. 2.5 mm. ' +
          'Stroma is fibrotic (i.e. collagen-rich) as per Dr. J. Smith et al. in the review. Mitoses are rare!',
      ),
    ).toEqual([
      'Nuclei are enlarged, e.g. up to 2.5 times a lymphocyte.',
      'The tumour measures approx. 2.5 mm.',
      'Stroma is fibrotic (i.e. collagen-rich) as per Dr. J. Smith et al. in the review.',
      'Mitoses are rare!',
    ]);
  });

  it('takes list items and blank lines as boundaries, and joins hard-wrapped lines', () => {
    expect(splitSentences('1. Glands are crowded\n2. Nuclei are\n   hyperchromatic\n\nNecrosis is absent')).toEqual([
      '1. Glands are crowded',
      '2. Nuclei are hyperchromatic',
      'Necrosis is absent',
    ]);
  });

  it('gives nothing for empty text', () => {
    expect(splitSentences('  \n ')).toEqual([]);
  });
});

describe('diffSentences', () => {
  const original =
    'The field shows crowded glands. Nuclei are enlarged and hyperchromatic. Mitotic figures are frequent. The stroma is desmoplastic.';

  it('reports no change for the same text, whatever the spacing and case', () => {
    const edits = diffSentences(original, original.replace(/ /g, '  ').toUpperCase());
    expect(edits).toEqual({ added: [], deleted: [], modified: [] });
    expect(isUnchanged(edits)).toBe(true);
  });

  it('finds added, deleted and modified sentences', () => {
    const revised =
      'The field shows crowded glands. Nuclei are mildly enlarged and hyperchromatic. The stroma is desmoplastic. Focal necrosis is present.';
    expect(diffSentences(original, revised)).toEqual({
      added: ['Focal necrosis is present.'],
      deleted: ['Mitotic figures are frequent.'],
      modified: [
        { from: 'Nuclei are enlarged and hyperchromatic.', to: 'Nuclei are mildly enlarged and hyperchromatic.' },
      ],
    });
  });

  it('pairs each changed sentence with its most similar counterpart, in text order', () => {
    const before = 'Lymphocytes are scattered. Fat is abundant. Glands are absent.';
    const after = 'Glands are present. Lymphocytes are numerous and scattered. Fat is sparse.';
    const edits = diffSentences(before, after);
    expect(edits.modified).toEqual([
      { from: 'Lymphocytes are scattered.', to: 'Lymphocytes are numerous and scattered.' },
      { from: 'Fat is abundant.', to: 'Fat is sparse.' },
      { from: 'Glands are absent.', to: 'Glands are present.' },
    ]);
    expect(edits.added).toEqual([]);
    expect(edits.deleted).toEqual([]);
  });

  it('keeps unrelated sentences as a deletion and an addition, not a modification', () => {
    expect(diffSentences('Adipocytes fill the field.', 'Sheets of lymphoid cells are seen.')).toEqual({
      added: ['Sheets of lymphoid cells are seen.'],
      deleted: ['Adipocytes fill the field.'],
      modified: [],
    });
  });

  it('does not count a sentence that only moved as an edit', () => {
    expect(
      isUnchanged(
        diffSentences(
          'Glands are crowded. Fat is sparse. Necrosis is absent.',
          'Necrosis is absent. Glands are crowded. Fat is sparse.',
        ),
      ),
    ).toBe(true);
  });
});
