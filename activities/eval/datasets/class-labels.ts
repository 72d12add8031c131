import { parseClassIndex } from './dataset-definition.js';
import type { DatasetDefinition } from './dataset-definition.js';

// How a folder name or a CSV label cell becomes a class index. Three schemes:
// - a definition: the cell may be the release's label, one of its aliases, the class name, or the
//   class index (a definition guarantees these never disagree);
// - a given list of labels (slide splits): the label itself or its index;
// - discovered: with nothing given, the distinct values are the classes. When every value is a
//   non-negative integer they are class indices (PCam's 0/1, a CSV of indices); otherwise the
//   sorted values are the classes, as torchvision's ImageFolder and CLIP_benchmark order them.

export interface ClassLabels {
  /** Class labels in class-index order. */
  classes: string[];
  /** The class a label names, or undefined when it names none. */
  indexOf(label: string): number | undefined;
  /** What a label may be, for error messages. */
  expected: string;
}

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function definitionLabels(definition: DatasetDefinition): ClassLabels {
  const byName = new Map<string, number>();
  definition.classes.forEach((entry, index) => {
    for (const spelling of [entry.label, ...entry.aliases, entry.name]) byName.set(spelling, index);
  });
  return {
    classes: definition.classes.map((entry) => entry.label),
    indexOf: (label) => byName.get(label) ?? indexIn(label, definition.classes.length),
    expected: `one of ${listLabels(definition.classes.map((entry) => entry.label))}, a class name or an index`,
  };
}

export function listedLabels(classes: readonly string[]): ClassLabels {
  const byName = new Map(classes.map((label, index) => [label, index]));
  return {
    classes: [...classes],
    indexOf: (label) => byName.get(label) ?? indexIn(label, classes.length),
    expected: `one of ${listLabels(classes)} or an index below ${classes.length}`,
  };
}

export function discoveredLabels(values: Iterable<string>): ClassLabels {
  const distinct = [...new Set(values)];
  const indices = distinct.map(parseClassIndex).filter((index) => index !== undefined);
  if (distinct.length > 0 && indices.length === distinct.length) {
    const count = Math.max(...indices) + 1;
    return {
      classes: Array.from({ length: count }, (_, index) => String(index)),
      indexOf: (label) => indexIn(label, count),
      expected: `an index below ${count}`,
    };
  }
  return listedLabels(distinct.sort(compareText));
}

function indexIn(label: string, count: number): number | undefined {
  const index = parseClassIndex(label);
  return index !== undefined && index < count ? index : undefined;
}

function listLabels(labels: readonly string[]): string {
  const shown = labels.slice(0, 20).map((label) => JSON.stringify(label));
  return labels.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}
