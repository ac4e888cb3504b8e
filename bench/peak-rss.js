/**
 * `node --no-experimental-strip-types bench/peak-rss.js ARGS...`: runs `sops-rekey ARGS...` from
 * the compiled package, as an installed sops-rekey runs, then writes the process's peak RSS (KiB)
 * as the last line of stderr. Plain JavaScript, so no TypeScript stripper is loaded into the
 * process being measured. See peakRssOf in peak-rss-of.ts.
 */
import { main } from '../dist/cli.js';

const exitCode = await main(process.argv.slice(2));
process.stderr.write(`\npeak-rss-kib ${process.resourceUsage().maxRSS}\n`);
process.exitCode = exitCode;
