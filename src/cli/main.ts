/** The `iotclean` command: one tree of commands, one top-level error handler. */
import { isIotcleanError } from '../core/errors.js';
import { runCommand, type Command } from './command.js';
import { planCommand, scopeCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';
import { discoverCommand } from './commands/discover.js';
import { labCommand } from './commands/lab.js';
import { endpointsCommand, importCommand, surveysCommand } from './commands/store.js';

export const rootCommand: Command<never> = {
  name: 'iotclean',
  description: 'Survey authorised address space for IoT devices at risk; the lab emulates an ISP network on loopback.',
  subcommands: [demoCommand, labCommand, discoverCommand, importCommand, surveysCommand, endpointsCommand, scopeCommand, planCommand] as Command<never>[],
};

async function main(): Promise<void> {
  try {
    process.exitCode = await runCommand(rootCommand, process.argv.slice(2));
  } catch (e) {
    if (isIotcleanError(e)) {
      process.stderr.write(`iotclean: ${e.format()}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`iotclean: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  }
}

await main();
