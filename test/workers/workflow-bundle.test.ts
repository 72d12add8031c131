import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowSourceHash } from '../../workers/workflow-bundle.js';

// The cached workflow bundle is keyed by the code it holds: any change to a workflow or to the
// activities folder (whose contracts the workflows import) must give a new key, nothing else may.
describe('workflow bundle cache key', () => {
  const tree = mkdtempSync(path.join(os.tmpdir(), 'pathgen-bundle-key-'));
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
    writeFileSync(path.join(tree, file), text);
  };
  const entry = path.join(tree, 'workflows', 'index.ts');

  it('changes with the workflows and the activity contracts, not with other folders', () => {
    write('workflows/index.ts', 'export const a = 1;');
    write('activities/contracts/keys.ts', 'export const k = 1;');
    const first = workflowSourceHash(entry);
    write('bench/run.ts', 'console.log(1);');
    expect(workflowSourceHash(entry)).toBe(first);
    write('activities/contracts/keys.ts', 'export const k = 2;');
    const second = workflowSourceHash(entry);
    expect(second).not.toBe(first);
    write('workflows/run.ts', 'export const r = 1;');
    expect(workflowSourceHash(entry)).not.toBe(second);
  });
});
