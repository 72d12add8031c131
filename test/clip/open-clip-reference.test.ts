import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../activities/clip/index.js';
import { tinyMerges } from '../../workers/synthetic/clip-models/tiny-vocabulary.js';

// Ids from open_clip itself. A reference file is a JSON array of {text, ids}, where ids is the row
// open_clip's tokenize gives (start, ids, end, zero padding, at the row's length). To check against
// the real CLIP vocabulary, make one with open_clip installed (`pip install open_clip_torch`):
//
//   import json, open_clip
//   from open_clip.tokenizer import default_bpe
//   texts = ['An H&E image of tumor cells.', 'The tumor\u2019s cells &amp; stroma, 12 µm.']
//   rows = open_clip.tokenize(texts).tolist()
//   json.dump([{'text': t, 'ids': r} for t, r in zip(texts, rows)], open('clip-reference-ids.json', 'w'))
//   print(default_bpe())  # the path of bpe_simple_vocab_16e6.txt.gz
//
// then run
//   PATHGEN_CLIP_BPE_VOCAB=<that path> PATHGEN_CLIP_REFERENCE_IDS=clip-reference-ids.json \
//     npx vitest run --project unit test/clip

interface ReferenceRow {
  text: string;
  ids: number[];
}

function mismatches(tokenizer: ClipTokenizer, rows: readonly ReferenceRow[]) {
  return rows
    .map((row) => ({ ...row, ours: Array.from(tokenizer.tokenize([row.text], row.ids.length).ids) }))
    .filter((row) => row.ours.join() !== row.ids.join());
}

describe('open_clip reference ids for the tiny vocabulary', () => {
  // Printed by open_clip 3.3.0's SimpleTokenizer (context length 8) reading tiny-vocabulary.ts's file.
  const rows: ReferenceRow[] = [
    { text: 'the cells', ids: [529, 513, 519, 530, 0, 0, 0, 0] },
    { text: 'tumors', ids: [529, 522, 81, 338, 530, 0, 0, 0] },
    { text: "IT'S", ids: [529, 72, 339, 524, 530, 0, 0, 0] },
    { text: 'CAF\u00c9', ids: [529, 66, 64, 69, 127, 358, 530, 0] },
    { text: '\u{1f600}', ids: [529, 172, 253, 246, 478, 530, 0, 0] },
    { text: 'H&amp;E', ids: [529, 327, 261, 324, 530, 0, 0, 0] },
    { text: '< &amp;amp;amp;', ids: [529, 283, 261, 64, 76, 335, 282, 530] },
    { text: 'The tumor\u2019s cells', ids: [529, 513, 523, 524, 519, 530, 0, 0] },
    { text: 'cells...!', ids: [529, 519, 13, 13, 13, 256, 530, 0] },
    { text: '12 cells', ids: [529, 272, 273, 519, 530, 0, 0, 0] },
    { text: 'the tumor cells is', ids: [529, 513, 523, 519, 525, 530, 0, 0] },
    { text: '&notit; P&eacute;rez &EACUTE;', ids: [529, 126, 361, 72, 339, 282, 79, 530] },
    { text: 'the \ufb01 \uff23\uff25\uff2c\uff2c\uff33', ids: [529, 513, 69, 328, 519, 530, 0, 0] },
  ];

  it('matches every row', () => {
    expect(mismatches(ClipTokenizer.fromMerges(tinyMerges), rows)).toEqual([]);
  });
});

const vocabularyPath = process.env.PATHGEN_CLIP_BPE_VOCAB;
const referencePath = process.env.PATHGEN_CLIP_REFERENCE_IDS;

// Registered only when both variables are set. `describe.runIf` or `it.skipIf` would list a skipped
// test in every run without a vocabulary (CI included), which reads as a gap; without the files this
// check simply does not exist.
if (vocabularyPath && referencePath) {
  describe('open_clip reference ids for a real vocabulary', () => {
    it(`matches ${referencePath} with ${vocabularyPath}`, async () => {
      const tokenizer = await ClipTokenizer.fromBpeFile(vocabularyPath);
      const rows = JSON.parse(await readFile(referencePath, 'utf8')) as ReferenceRow[];
      expect(rows.length).toBeGreaterThan(0);
      expect(mismatches(tokenizer, rows)).toEqual([]);
    });
  });
}
