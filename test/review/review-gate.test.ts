import { describe, expect, it } from 'vitest';
import { reviewGateVerdict } from '../../activities/review/review-gate.js';

const gate = { samplesPerSlide: 3, maxFlagRate: 0.25 };

describe('reviewGateVerdict', () => {
  it('refuses while a slide has fewer reviews than it needs, naming it; a small slide needs all of its samples', () => {
    const check = reviewGateVerdict(gate, [
      { slideId: 'a', samples: 10, reviewed: 3, flagged: 0 },
      { slideId: 'b', samples: 2, reviewed: 1, flagged: 0 },
      { slideId: 'c', samples: 0, reviewed: 0, flagged: 0 },
    ]);
    expect(check).toMatchObject({ approvable: false, reviewed: 4, required: 5, slidesShort: 1 });
    expect(check.message).toBe(
      'the reviewed sample is incomplete: 1 of 3 slides need more reviews (b: 1 of 2 reviewed); the gate asks for 3 per slide',
    );
  });

  it('names five slides and counts the rest', () => {
    const slides = Array.from({ length: 7 }, (_, i) => ({ slideId: `s${i}`, samples: 5, reviewed: 0, flagged: 0 }));
    expect(reviewGateVerdict(gate, slides).message).toContain('s4: 0 of 3 reviewed and 2 more)');
  });

  it('refuses a complete review whose flag rate is above the gate, and approves one at it', () => {
    const high = reviewGateVerdict(gate, [
      { slideId: 'a', samples: 4, reviewed: 4, flagged: 1 },
      { slideId: 'b', samples: 4, reviewed: 3, flagged: 1 },
    ]);
    expect(high).toMatchObject({ approvable: false, flagged: 2, reviewed: 7 });
    expect(high.message).toBe(
      "2 of 7 reviewed samples are flagged (28.6 %), above the gate's 25.0 %: fix or drop samples, or review more",
    );
    const atLimit = reviewGateVerdict(gate, [{ slideId: 'a', samples: 4, reviewed: 4, flagged: 1 }]);
    expect(atLimit).toMatchObject({ approvable: true, required: 3 });
    expect(atLimit.message).toBe('review complete: 4 samples reviewed on 1 slides, 1 flagged (25.0 %, at most 25.0 %)');
  });
});
