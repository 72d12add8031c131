import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The house plan, checked: the layout rules a newcomer relies on (README, "Where things live") hold
// for every file, so a change that breaks one says so here instead of in a review. Import rules
// (no circles, Temporal only in stages/ and runtime/, workflows ↔ activities only through
// contracts/) are lint rules; these are the ones a linter does not see.

const root = join(import.meta.dirname, '..');
const sourceFolders = ['activities', 'workflows', 'workers', 'bench', 'infra', 'test'];
const sourceFile = /\.(ts|js|mjs|py|sh)$/;
/** Not folders of code: recorded histories, real-format fixtures. */
const skippedFolders = new Set(['node_modules', 'histories', 'fixtures']);
/** Data tables, not code written by hand: their length is their content. */
const dataTables = new Set(['activities/select/tcga-attribute-prompts.ts']);
const maxLines = 400;

function filesUnder(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!skippedFolders.has(entry.name)) out.push(...filesUnder(path));
    } else if (sourceFile.test(entry.name)) out.push(path);
  }
  return out;
}

const files = sourceFolders.flatMap(filesUnder);
const lines = (path: string) => readFileSync(join(root, path), 'utf8').split('\n').length - 1;

describe('the house plan', () => {
  it('finds the source tree', () => {
    expect(files).toContain('activities/contracts/keys.ts');
    expect(files).toContain('workflows/slide-plan.ts');
    expect(files.length).toBeGreaterThan(200);
  });

  it(`has no file written by hand over ${maxLines} lines`, () => {
    const long = files
      .filter((path) => !dataTables.has(path))
      .map((path) => `${path}: ${lines(path)}`)
      .filter((line) => Number(line.split(': ')[1]) > maxLines);
    expect(long).toEqual([]);
  });

  it('keeps the CLI entry a short router', () => {
    expect(lines('workers/cli.ts')).toBeLessThan(100);
  });

  it('builds store keys and workflow ids only in activities/contracts/keys.ts', () => {
    // A template that starts with one of the store's top-level folders or a workflow id's prefix,
    // or that appends one of the store's sub-folders to a prefix.
    const keyTemplate =
      /`(runs|tiles|select|findings|exports|training|models|evals|features|_doctor)\/\$\{|`pathgen-(run|slide|train|eval|doctor)-\$\{|\$\{[^}]+\}\/(slides|patches|records|agents|checkpoints|logs|versions|stages)\//;
    const offenders: string[] = [];
    for (const path of files) {
      if (path.startsWith('test/') || path === 'activities/contracts/keys.ts') continue;
      for (const [index, line] of readFileSync(join(root, path), 'utf8').split('\n').entries())
        if (keyTemplate.test(line)) offenders.push(`${path}:${index + 1}: ${line.trim()}`);
    }
    expect(offenders).toEqual([]);
  });

  it('keeps tests beside the source they test: no test folder without a source folder of its name', () => {
    // test/<folder> mirrors a folder of activities/, workers/ or workers/synthetic/, or one of the
    // top-level folders; setup/, helpers/ and histories/ hold the harness.
    const harness = new Set(['setup', 'helpers', 'histories']);
    const sourceNames = new Set(
      ['activities', 'workers', 'workers/synthetic']
        .flatMap((folder) => readdirSync(join(root, folder), { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .concat(['workflows', 'workers', 'infra', 'bench']),
    );
    const testFolders = readdirSync(join(root, 'test'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !harness.has(entry.name))
      .map((entry) => entry.name);
    expect(testFolders.filter((name) => !sourceNames.has(name))).toEqual([]);
  });
});
