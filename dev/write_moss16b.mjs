#!/usr/bin/env node
// Writes a MOSS-16B-shaped checkpoint (random weights, std 0.02) in a release layout:
//   node dev/write_moss16b.mjs <dir> fp16|int4|int8      (after `npm run build`)
// fp16 is ~33 GB in 10 GB shards, int4 ~10 GB, int8 ~17 GB: delete it when done.
// The layouts are documented in bench/moss16b-write.ts; `npm run bench -- moss16b` writes, measures and deletes.
import { writeMoss16b } from '../dist/bench/moss16b-write.js';
const [dir, layout = 'fp16'] = process.argv.slice(2);
if (!dir || !['fp16', 'int4', 'int8'].includes(layout)) {
  process.stderr.write('usage: node dev/write_moss16b.mjs <dir> fp16|int4|int8\n');
  process.exit(2);
}
let last = 0;
const r = writeMoss16b(dir, layout, (done, total) => {
  if (done - last > 1e9 || done === total) { process.stderr.write(`\r${(done / 1e9).toFixed(1)}/${(total / 1e9).toFixed(1)} GB`); last = done; }
});
process.stderr.write(`\nwrote ${dir}: ${r.files.join(', ')} (${(r.bytes / 1e9).toFixed(1)} GB)\n`);
