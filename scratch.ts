import { checkConfigFile } from './src/config/check.js';
import { formatProblem } from './src/config/problems.js';
const f = process.argv[2];
const r = await checkConfigFile(f);
for (const p of r.problems) console.log(formatProblem(f, p));
console.log(JSON.stringify(r.desired, null, 1)?.slice(0, 1500));
