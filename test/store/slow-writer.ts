// Test helper process: streams an endless object into an fs store, slowly, until it is killed.
import { Readable } from 'node:stream';
import { FsObjectStore } from '../../activities/store/fs-store.js';

const [root, key] = process.argv.slice(2);
if (!root || !key) throw new Error('usage: slow-writer.ts ROOT KEY');
const store = new FsObjectStore({ root });
let sent = 0;
const body = new Readable({
  read() {
    if (sent === 1) process.stdout.write('writing\n');
    sent++;
    setTimeout(() => this.push(Buffer.alloc(64 * 1024, sent % 256)), 20);
  },
});
await store.put(key, body);
