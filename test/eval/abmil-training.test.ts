import { describe, expect, it } from 'vitest';
import { predictSlide } from '../../activities/eval/abmil-forward.js';
import { createAbmil } from '../../activities/eval/abmil-model.js';
import { meanLossOf, trainAbmil, trainingOrder } from '../../activities/eval/abmil-training.js';
import type { SlideExample } from '../../activities/eval/abmil-training.js';
import { auroc, shiftedPatchTask } from '../../workers/synthetic/datasets/synthetic-bags.js';

// Narrow layers (64 hidden, 32 attention) keep 2,000 steps to a few seconds; the optimiser settings
// are PathGen's (50 epochs, lr 1e-4, weight decay 1e-5, cosine, one slide per step).
const narrow = { hiddenDim: 64, attentionDim: 32 };

function medianOf(values: Float32Array): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('ABMIL training', () => {
  it('learns a slide label carried by a few patches, and attends to those patches', async () => {
    const train = shiftedPatchTask({ slides: 40, dim: 32, seed: 1, shift: 6 });
    const test = shiftedPatchTask({ slides: 40, dim: 32, seed: 2, shift: 6 });
    const result = await trainAbmil(train.examples, { classCount: 2, ...narrow, seed: 3 });
    expect(result.steps).toBe(50 * 40);
    expect(result.epochLosses).toHaveLength(50);
    expect(result.epochLosses.at(-1)!).toBeLessThan(result.epochLosses[0]! - 0.2);

    const predictions = test.examples.map((example) => predictSlide(result.model, example.bag));
    const positives = test.examples.map((example) => example.label === 1);
    expect(
      auroc(
        predictions.map((p) => p.probabilities[1]!),
        positives,
      ),
    ).toBeGreaterThan(0.9);
    let shiftedPatches = 0;
    predictions.forEach((prediction, slide) => {
      const median = medianOf(prediction.attention);
      for (const patch of test.shifted[slide]!) {
        expect(prediction.attention[patch]!).toBeGreaterThan(median);
        shiftedPatches += 1;
      }
    });
    expect(shiftedPatches).toBeGreaterThan(60);
  });

  it('gives the identical model for the same seed (dropout on) and a different one for another seed', async () => {
    const { examples } = shiftedPatchTask({ slides: 8, dim: 16, seed: 4 });
    const options = { classCount: 2, hiddenDim: 12, attentionDim: 6, dropout: 0.25, epochs: 3, seed: 9 };
    const first = await trainAbmil(examples, options);
    const again = await trainAbmil(examples, options);
    const other = await trainAbmil(examples, { ...options, seed: 10 });
    expect(again.model.parameters).toEqual(first.model.parameters);
    expect(again.epochLosses).toEqual(first.epochLosses);
    expect(other.model.parameters).not.toEqual(first.model.parameters);
  });

  it('shuffles slides per epoch from the seed', () => {
    const orders = trainingOrder(6, 3, 1);
    for (const order of orders) expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(orders[0]).not.toEqual(orders[1]);
    expect(trainingOrder(6, 3, 1)).toEqual(orders);
  });

  it('keeps the weights of the lowest validation loss and stops after `patience` epochs without a lower one', async () => {
    const { examples } = shiftedPatchTask({ slides: 12, dim: 16, seed: 5, shift: 6 });
    // Validation labels flipped: the better the model fits, the worse validation gets.
    const flipped: SlideExample[] = examples.map((example) => ({ ...example, label: 1 - example.label }));
    const result = await trainAbmil(examples, {
      classCount: 2,
      hiddenDim: 16,
      attentionDim: 8,
      lr: 3e-3,
      epochs: 30,
      patience: 3,
      validation: flipped,
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochLosses.length).toBe(result.bestEpoch + 3);
    expect(result.validationLosses).toHaveLength(result.epochLosses.length);
    const lowest = Math.min(...result.validationLosses);
    expect(result.validationLosses[result.bestEpoch - 1]).toBe(lowest);
    expect(await meanLossOf(result.model, flipped)).toBeCloseTo(lowest, 12);
  });

  it('awaits onEpoch after every epoch and stops between steps when the signal aborts', async () => {
    const { examples } = shiftedPatchTask({ slides: 4, dim: 8, seed: 6 });
    const controller = new AbortController();
    const calls: [number, number][] = [];
    let pending = false;
    const run = trainAbmil(examples, {
      classCount: 2,
      hiddenDim: 8,
      attentionDim: 4,
      epochs: 5,
      signal: controller.signal,
      onEpoch: async (epoch, meanLoss) => {
        expect(pending).toBe(false);
        pending = true;
        await new Promise((resolve) => setTimeout(resolve, 1));
        pending = false;
        calls.push([epoch, meanLoss]);
        if (epoch === 2) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/aborted/);
    expect(calls.map(([epoch]) => epoch)).toEqual([1, 2]);
    expect(calls.every(([, loss]) => Number.isFinite(loss) && loss > 0)).toBe(true);
  });

  it('rejects an empty training set, bad settings and a starting model with other classes', async () => {
    const { examples } = shiftedPatchTask({ slides: 2, dim: 8, seed: 7 });
    await expect(trainAbmil([], { classCount: 2 })).rejects.toThrow(/at least one slide/);
    await expect(trainAbmil(examples, { classCount: 2, epochs: 0 })).rejects.toThrow(/epochs/);
    const model = createAbmil({ inputDim: 8, classCount: 3, hiddenDim: 4, attentionDim: 2 });
    await expect(trainAbmil(examples, { classCount: 2, initialModel: model })).rejects.toThrow(/classes/);
    const badLabel = [{ ...examples[0]!, label: 2 }];
    await expect(trainAbmil(badLabel, { classCount: 2, hiddenDim: 4, attentionDim: 2 })).rejects.toThrow(
      /label outside/,
    );
  });
});
