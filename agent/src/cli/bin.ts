// Entry for running the CLI from source (tests, `node --import tsx`); bin/imom.js runs the build.
import { main } from './main.js';

main(process.argv).catch((e: unknown) => {
  process.stderr.write(`imom: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
