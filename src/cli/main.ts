/**
 * `npm run vm -- [options]`: boots a Linux guest headless with its serial
 * console on this terminal. See USAGE in args.ts and the README.
 */
import { parseRunnerArgs, USAGE, UsageError } from './args.ts';
import { EXIT_ERROR, runGuest } from './runner.ts';

async function main(argv: readonly string[]): Promise<number> {
  try {
    const options = parseRunnerArgs(argv);
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return await runGuest(options, { input: process.stdin, output: process.stdout, errors: process.stderr });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tabvisor: ${e.message}\n`);
      return 2;
    }
    // An emulator bug: still one clear paragraph, with the detail that lets us fix it.
    process.stderr.write(`tabvisor: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_ERROR;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
