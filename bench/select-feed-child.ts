// One feed measurement of bench/select-feed.ts in a process of its own, so that bench:select can
// pin it to one core (taskset -c 0): `tsx bench/select-feed-child.ts JOB.json` prints a FeedRate.
import { readFile } from 'node:fs/promises';
import { feedRate, type FeedJob } from './select-feed.js';

const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as FeedJob;
console.log(JSON.stringify(await feedRate(job)));
