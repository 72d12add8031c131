import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgents } from '../../activities/agents/index.js';
import { createAgentActivities } from '../../activities/stages/agents.js';
import type { AgentBatchInput, AgentHeartbeat, PatchRef } from '../../activities/stages/agents.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import '../setup/quiet-temporal-runtime.js';
import { builtinSettings, countTokens, syntheticPatch } from '../agents/agent-test-settings.js';

// An agent batch's heartbeats say which of the slide's batches it is, so the Temporal UI shows
// where a long activity is (`describe` of batch 2/4, 3 of 64 patches done).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-agent-heartbeat-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function storeWithPatches(count: number): Promise<{ store: FsObjectStore; patches: PatchRef[] }> {
  const store = new FsObjectStore({ root: dir });
  const patches: PatchRef[] = [];
  for (let i = 0; i < count; i++) {
    const raw = syntheticPatch(i, 48);
    const jpeg = await sharp(raw.data, { raw: { width: 48, height: 48, channels: 3 } })
      .jpeg()
      .toBuffer();
    const key = `select/slide-h/patches/${i * 672}_0.jpg`;
    await store.put(key, jpeg);
    patches.push({ id: `${i * 672}_0`, key, mpp: 0.5 });
  }
  return { store, patches };
}

describe('agent batch heartbeats', () => {
  it('carry the batch label with the stage and the patches done', async () => {
    const { store, patches } = await storeWithPatches(3);
    const agents = createAgents(builtinSettings(), { countTokens, store });
    const activities = createAgentActivities({ store, agents: () => Promise.resolve(agents) });
    const input: AgentBatchInput = { slideId: 'slide-h', patches, outputPrefix: 'agents/h', batch: '2/4' };
    const env = new MockActivityEnvironment();
    const beats: AgentHeartbeat[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details as AgentHeartbeat));
    await env.run(activities.describePatches, input);
    expect(beats.at(-1)).toEqual({ stage: 'describe', done: 3, total: 3, batch: '2/4' });
    expect(beats.every((beat) => beat.batch === '2/4')).toBe(true);
  });
});
