import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathgenSearchAttributes } from '../../workflows/search-attributes.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';

describe('infra/dev.sh', () => {
  it('registers exactly the search attributes the workflows use', () => {
    const script = readFileSync(path.join(repoRoot, 'infra/dev.sh'), 'utf8');
    const line = script.split('\n').find((l) => l.startsWith('search_attributes=('));
    const registered = [...(line ?? '').matchAll(/(\w+)=Keyword/g)].map((match) => match[1]);
    expect(registered.sort()).toEqual(pathgenSearchAttributes.map((key) => key.name).sort());
  });
});
