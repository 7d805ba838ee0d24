/** The `iotclean` command: one tree of commands, one top-level error handler. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIotcleanError } from '../core/errors.js';
import { printError, quietOnClosedOutput, runCommand, wantsJson, type Command } from './command.js';
import { planCommand, scopeCommand } from './commands/check.js';
import { accessCommand } from './commands/access.js';
import { accountsCommand } from './commands/accounts.js';
import { darknetCommand } from './commands/darknet.js';
import { demoCommand } from './commands/demo.js';
import { discoverCommand } from './commands/discover.js';
import { ispCommand } from './commands/isp.js';
import { findingsCommand } from './commands/findings.js';
import { labCommand } from './commands/lab.js';
import { notifyCommand } from './commands/notify.js';
import { serveCommand } from './commands/serve.js';
import { flowsCommand } from './commands/flows.js';
import { shareCommand } from './commands/share.js';
import { devicesCommand, grabCommand, identifyCommand, surveyCommand } from './commands/survey.js';
import { endpointsCommand, importCommand, surveysCommand } from './commands/store.js';
import { vulnCommand } from './commands/vuln.js';

/** The version in our package.json, found by walking up (this file runs from src/ or dist/src/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'iotclean' && pkg.version) return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

export const rootCommand: Command<never> = {
  name: 'iotclean',
  description: 'Survey authorised address space for IoT devices at risk; the lab emulates an ISP network on loopback.',
  version: packageVersion(),
  subcommands: [demoCommand, labCommand, surveyCommand, discoverCommand, grabCommand, identifyCommand, accessCommand, vulnCommand, importCommand, surveysCommand, endpointsCommand, devicesCommand, findingsCommand, notifyCommand, darknetCommand, flowsCommand, shareCommand, ispCommand, serveCommand, accountsCommand, scopeCommand, planCommand] as Command<never>[],
};

async function main(): Promise<void> {
  quietOnClosedOutput();
  const argv = process.argv.slice(2);
  try {
    process.exitCode = await runCommand(rootCommand, argv);
  } catch (e) {
    // Same exit codes with or without --json: 2 for a user's mistake, 1 for a bug.
    printError(e, wantsJson(argv));
    process.exitCode = isIotcleanError(e) ? 2 : 1;
  }
}

await main();
