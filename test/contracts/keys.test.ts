import { describe, expect, it } from 'vitest';
import * as keys from '../../activities/contracts/keys.js';
import {
  agentKeys,
  doctorProbeKey,
  evalReportPrefix,
  exportKeys,
  featureKeys,
  findingsKey,
  materializeKeys,
  modelPrefix,
  reviewKeys,
  runKeys,
  selectKeys,
  tileKeys,
  trainKeys,
  workflowIds,
} from '../../activities/contracts/keys.js';

// Store keys and workflow ids are durable names: committed replay histories, earlier runs' stores,
// exports and people's scripts find work by them. Each string below is pinned on purpose; a change
// here is a data migration, not a refactor.

describe('workflow ids', () => {
  it('names each workflow', () => {
    expect(workflowIds.run('r1')).toBe('pathgen-run-r1');
    expect(workflowIds.slide('r1', 's_1')).toBe('pathgen-slide-r1-s_1');
    expect(workflowIds.train('t1')).toBe('pathgen-train-t1');
    expect(workflowIds.eval('e1')).toBe('pathgen-eval-e1');
    expect(workflowIds.doctor('gpu', 'host-a', 'n0nce')).toBe('pathgen-doctor-gpu-host-a-n0nce');
  });
});

describe('store keys', () => {
  it('lays out a run', () => {
    expect(runKeys.slideRecord('r1', 's_1')).toBe('runs/r1/slides/s_1.json');
    expect(runKeys.slideRecords('r1')).toBe('runs/r1/slides/');
    expect(runKeys.manifestErrors('r1')).toBe('runs/r1/manifest-errors.jsonl');
    expect(runKeys.agents('r1', 's_1', 'select/s_1/abc123')).toBe('runs/r1/agents/s_1/abc123');
    expect(runKeys.agents('r1', 's_1', 'abc123')).toBe('runs/r1/agents/s_1/abc123');
    expect(agentKeys.stage('runs/r1/agents/s_1/abc123', 'summarize', '0_672')).toBe(
      'runs/r1/agents/s_1/abc123/summarize/0_672.json',
    );
  });

  it('lays out materialize mode', () => {
    const prefix = materializeKeys.prefix('r1');
    expect(prefix).toBe('runs/r1/materialize');
    expect(materializeKeys.slides(prefix)).toBe('runs/r1/materialize/slides.jsonl');
    expect(materializeKeys.errors(prefix)).toBe('runs/r1/materialize/errors.jsonl');
    expect(materializeKeys.grouping(prefix)).toBe('runs/r1/materialize/grouping.json');
    expect(materializeKeys.groupedPatches(prefix, 's_1')).toBe('runs/r1/materialize/patches/s_1/');
    expect(materializeKeys.groupedPatchesPart(prefix, 's_1', 0)).toBe(
      'runs/r1/materialize/patches/s_1/part-000000.jsonl',
    );
    expect(materializeKeys.groupedPatchesPart(prefix, 's_1', 1234567)).toBe(
      'runs/r1/materialize/patches/s_1/part-1234567.jsonl',
    );
    expect(materializeKeys.groupedPatchesParts(prefix, 's_1')).toBe('runs/r1/materialize/patches/s_1/part-');
    expect(materializeKeys.crop(prefix, 's_1', '0_672')).toBe('runs/r1/materialize/patches/s_1/0_672.jpg');
    expect(materializeKeys.records(prefix, 's_1')).toBe('runs/r1/materialize/records/s_1/');
    expect(materializeKeys.record(prefix, 's_1', '0_672')).toBe('runs/r1/materialize/records/s_1/0_672.json');
  });

  it('lays out the tile and select stages', () => {
    const tiles = tileKeys.prefix('s_1', 'h1');
    expect(tiles).toBe('tiles/s_1/h1');
    expect(tileKeys.candidates(tiles)).toBe('tiles/s_1/h1/candidates.jsonl');
    expect(tileKeys.metadata(tiles)).toBe('tiles/s_1/h1/metadata.json');
    expect(tileKeys.thumbnail(tiles)).toBe('tiles/s_1/h1/thumbnail.png');
    expect(tileKeys.result(tiles)).toBe('tiles/s_1/h1/result.json');
    expect(tileKeys.patches(tiles)).toBe('tiles/s_1/h1/patches');
    expect(tileKeys.patch(tiles, '0_672')).toBe('tiles/s_1/h1/patches/0_672.png');

    const select = selectKeys.prefix('s_1', 'h2');
    expect(select).toBe('select/s_1/h2');
    expect(selectKeys.selection(select)).toBe('select/s_1/h2/selection.jsonl');
    expect(selectKeys.summary(select)).toBe('select/s_1/h2/summary.json');
    expect(selectKeys.result(select)).toBe('select/s_1/h2/result.json');
    expect(selectKeys.embeddings(select)).toBe('select/s_1/h2/embeddings.f32');
    expect(selectKeys.batches(select)).toBe('select/s_1/h2/batches');
    expect(selectKeys.patch(select, '0_672')).toBe('select/s_1/h2/patches/0_672.jpg');

    expect(findingsKey('s_1', 'f00d')).toBe('findings/s_1/f00d.json');
  });

  it('lays out exports', () => {
    const prefix = exportKeys.prefix('r1');
    expect(prefix).toBe('exports/r1');
    expect(exportKeys.pointer(prefix)).toBe('exports/r1/LATEST.json');
    expect(exportKeys.versions(prefix)).toBe('exports/r1/versions/');
    expect(exportKeys.version(prefix, 'v1')).toBe('exports/r1/versions/v1/');
    expect(exportKeys.version(prefix, 'v1').startsWith(exportKeys.versions(prefix))).toBe(true);
  });

  it('lays out training, models, evaluations and features', () => {
    expect(trainKeys.prefix('t1')).toBe('training/t1/');
    const stage = trainKeys.stage('t1', 'stage1');
    expect(stage).toBe('training/t1/stages/stage1/');
    expect(stage.startsWith(trainKeys.prefix('t1'))).toBe(true);
    expect(trainKeys.checkpoints(stage)).toBe('training/t1/stages/stage1/checkpoints/');
    expect(trainKeys.result(stage)).toBe('training/t1/stages/stage1/result.json');
    expect(trainKeys.log(stage, 'attempt-2')).toBe('training/t1/stages/stage1/logs/attempt-2.log');
    expect(trainKeys.params(stage)).toBe('training/t1/stages/stage1/params.txt');

    expect(modelPrefix('m1')).toBe('models/m1/');
    expect(evalReportPrefix('e1')).toBe('evals/e1');

    expect(featureKeys.image('clip-v1-abcd', 'ef0123')).toBe('features/clip-v1-abcd/ef/ef0123.f32');
    expect(featureKeys.slide('clip-v1-abcd', 'id42')).toBe('features/clip-v1-abcd/slides/id42.f32');
  });

  it('lays out reviews', () => {
    expect(workflowIds.reviewExport('r1', 'n0nce')).toBe('pathgen-review-export-r1-n0nce');
    expect(reviewKeys.records('r1')).toBe('runs/r1/reviews/');
    expect(reviewKeys.record('r1', '20261207T120000000Z', 'ab12')).toBe(
      'runs/r1/reviews/20261207T120000000Z-ab12.json',
    );
    expect(reviewKeys.exportSnapshot('exports/r1/versions/v1/')).toBe('exports/r1/versions/v1/reviews.json');
  });

  it('names the doctor probe', () => {
    expect(doctorProbeKey('host-a', 'n0nce')).toBe('_doctor/host-a-n0nce.txt');
  });
});

describe('the module', () => {
  // A builder added without a pin here would be a durable name nobody notices changing.
  it('exports only the builders pinned above', () => {
    expect(Object.keys(keys).sort()).toEqual(
      [
        'agentKeys',
        'doctorProbeKey',
        'evalReportPrefix',
        'exportKeys',
        'featureKeys',
        'findingsKey',
        'materializeKeys',
        'modelPrefix',
        'reviewKeys',
        'runKeys',
        'selectKeys',
        'tileKeys',
        'trainKeys',
        'workflowIds',
      ].sort(),
    );
    const groups = {
      workflowIds,
      runKeys,
      reviewKeys,
      agentKeys,
      materializeKeys,
      tileKeys,
      selectKeys,
      exportKeys,
      trainKeys,
      featureKeys,
    };
    expect(
      Object.fromEntries(Object.entries(groups).map(([name, group]) => [name, Object.keys(group).sort()])),
    ).toEqual({
      workflowIds: ['doctor', 'eval', 'reviewExport', 'run', 'slide', 'train'],
      runKeys: ['agents', 'manifestErrors', 'slideRecord', 'slideRecords'],
      reviewKeys: ['exportSnapshot', 'record', 'records'],
      agentKeys: ['stage'],
      materializeKeys: [
        'crop',
        'errors',
        'groupedPatches',
        'groupedPatchesPart',
        'groupedPatchesParts',
        'grouping',
        'prefix',
        'record',
        'records',
        'slides',
      ],
      tileKeys: ['candidates', 'metadata', 'patch', 'patches', 'prefix', 'result', 'thumbnail'],
      selectKeys: ['batches', 'embeddings', 'patch', 'prefix', 'result', 'selection', 'summary'],
      exportKeys: ['pointer', 'prefix', 'version', 'versions'],
      trainKeys: ['checkpoints', 'log', 'params', 'prefix', 'result', 'stage'],
      featureKeys: ['image', 'slide'],
    });
  });
});
