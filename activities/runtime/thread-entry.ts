// Code for `new Worker(code, { eval: true })` that loads a module beside the caller: compiled
// JavaScript in dist/, TypeScript when the code runs from source (tests, tsx), where the thread must
// register tsx before importing it.
export function threadEntryCode(callerUrl: string, moduleName: string): string {
  const extension = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  const entry = JSON.stringify(new URL(`./${moduleName}${extension}`, callerUrl).href);
  return extension === '.ts'
    ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`
    : `import(${entry});`;
}
