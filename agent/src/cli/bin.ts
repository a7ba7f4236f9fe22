// Entry for running the CLI from source (tests, `node --import tsx`); bin/imom.js runs the build.
import { exitWhenDrained } from '../command/command.js';
import { main } from './main.js';

main(process.argv).catch(async (e: unknown) => {
  process.stderr.write(`imom: ${e instanceof Error ? e.message : String(e)}\n`);
  await exitWhenDrained(2);
});
