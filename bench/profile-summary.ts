// Where a worker's CPU went: `npx tsx bench/profile-summary.ts <file.cpuprofile|dir> [top]`.
// Sums V8's self time per function and per package (node_modules/<name>, our folders, native), the
// profile behind the scale benchmark's verdict.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const target = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!target) {
  console.error('usage: profile-summary.ts <file.cpuprofile|dir> [top]');
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((file) => file.endsWith('.cpuprofile'))
      .map((file) => path.join(target, file))
  : [target];

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let totalMs = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  for (let i = 0; i < profile.samples.length; i++) {
    const node = nodes.get(profile.samples[i]!);
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    totalMs += ms;
    const name = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byArea.set(areaOf(url, functionName), (byArea.get(areaOf(url, functionName)) ?? 0) + ms);
  }
}

function shortUrl(url: string): string {
  const at = url.lastIndexOf('node_modules/');
  if (at >= 0) return url.slice(at + 'node_modules/'.length);
  return url.replace(/^file:\/\/.*?\/(activities|workflows|workers|bench)\//, '$1/');
}

function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(activities|workflows|workers|bench)\/([^/]+)/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

const table = (title: string, counts: Map<string, number>) => {
  console.log(`\n${title} (self time, ${files.length} profile(s), ${(totalMs / 1000).toFixed(1)} s busy)`);
  for (const [name, ms] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((ms / totalMs) * 100).toFixed(1).padStart(5)} %  ${(ms / 1000).toFixed(2).padStart(7)} s  ${name}`);
  }
};
table('by area', byArea);
table('by function', byFunction);
