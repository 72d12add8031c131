import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import type { RunSettings } from '../../activities/contracts/run-settings.js';
import type { RecordSlideInput } from '../../activities/contracts/slide-job.js';
import { zeroUsage } from '../../activities/contracts/usage.js';
import { runSlidePlan, type SlideSteps } from '../../workflows/slide-plan.js';

// The slide plan with findingsBesideTile: the report's findings are asked for before tiling ends,
// and a failure still names the stage the slide was in (tile first, then findings).

const settings = { tiling: {}, selection: {}, agentBatchSize: 2, agentBatchesInParallel: 1 } as unknown as RunSettings;
const row = {
  slideId: 's1',
  slide: '/x/s1.svs',
  project: 'TCGA-BRCA' as const,
  line: 2,
  report: 'Invasive carcinoma.',
};
const input = { runId: 'r', row, settings, startedAt: '2026-01-01T00:00:00.000Z' };

function steps(calls: string[], options: { tile?: () => Promise<void>; findingsFails?: boolean }) {
  const records: RecordSlideInput[] = [];
  const plan: SlideSteps = {
    tile: async () => {
      calls.push('tile:start');
      await options.tile?.();
      calls.push('tile:end');
      return { slideId: 's1', prefix: 't', keys: { candidates: 'c' }, candidates: 4 } as never;
    },
    findings: () => {
      calls.push('findings:start');
      if (options.findingsFails) return Promise.reject(new PathgenError('ModelUnavailable', 'no server'));
      return Promise.resolve({
        key: 'f',
        findings: 1,
        backend: 'builtin',
        model: 'm',
        usage: zeroUsage,
        reused: false,
      });
    },
    select: () => {
      calls.push('select');
      return Promise.resolve({ prefix: 'p', keys: { result: 'r' }, patches: [] } as never);
    },
    agent: () => Promise.reject(new Error('no patches, no agents')),
    record: (record) => {
      records.push(record);
      return Promise.resolve({ slideId: 's1', status: record.status, counts: {}, failures: {} });
    },
    failure: (error) => ({ reason: (error as PathgenError).code ?? 'ActivityFailed', message: String(error) }),
    findingsBesideTile: true,
  };
  return { plan, records };
}

describe('runSlidePlan with findings beside tile', () => {
  it('asks for findings while the slide tiles, then selects', async () => {
    const calls: string[] = [];
    const { plan, records } = steps(calls, { tile: () => new Promise((resolve) => setTimeout(resolve, 20)) });
    const outcome = await runSlidePlan(plan, input);
    expect(calls).toEqual(['findings:start', 'tile:start', 'tile:end', 'select']);
    expect(outcome.summary.status).toBe('completed');
    expect(records[0]?.status).toBe('completed');
  });

  it('records a findings failure as the findings stage once tiling is done', async () => {
    const calls: string[] = [];
    const { plan, records } = steps(calls, { findingsFails: true });
    await runSlidePlan(plan, input);
    expect(records[0]).toMatchObject({ status: 'failed', reason: 'ModelUnavailable', candidates: 4 });
    expect(records[0]?.message).toMatch(/^findings: /);
  });

  it('records a tiling failure as the tile stage, whatever findings did', async () => {
    const calls: string[] = [];
    const { plan, records } = steps(calls, {
      findingsFails: true,
      tile: () => Promise.reject(new PathgenError('SlideUnreadable', 'broken')),
    });
    await runSlidePlan(plan, input);
    expect(records[0]).toMatchObject({ status: 'failed', reason: 'SlideUnreadable' });
    expect(records[0]?.message).toMatch(/^tile: /);
  });
});
