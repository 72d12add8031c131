import { Runtime } from '@temporalio/worker';
import { installRuntime } from './workers/install-runtime.js';
const got: string[] = [];
installRuntime('WARN', (e) => { got.push(e.message); });
Runtime.instance().logger.warn('hello');
await new Promise((r) => setTimeout(r, 200));
process.stdout.write(JSON.stringify(got) + ' ' + Runtime.instance().logger.constructor.name + '\n');
