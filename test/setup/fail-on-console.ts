import { afterEach, beforeEach, expect } from 'vitest';

// A test that prints is a test whose code talks behind the user's back: collect what was printed
// during each test and fail the test if anything was.
const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
let printed: string[] = [];
const originals = new Map<string, (...args: unknown[]) => void>();

beforeEach(() => {
  printed = [];
  for (const method of methods) {
    originals.set(method, console[method].bind(console));
    console[method] = (...args: unknown[]) => {
      printed.push(`console.${method}: ${args.map(String).join(' ')}`);
    };
  }
});

afterEach(() => {
  for (const method of methods) {
    const original = originals.get(method);
    if (original) console[method] = original;
  }
  expect(printed, 'stray console output').toEqual([]);
});
