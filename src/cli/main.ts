/** The `iotclean` command: one tree of commands, one top-level error handler. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIotcleanError } from '../core/errors.js';
import { printError, quietOnClosedOutput, runCommand, wantsJson, type Command } from './command.js';

/**
 * Each command's module, loaded only when that command runs: the modules pull in the web server,
 * chart renderer, SSH and mail clients, DuckDB..., and loading them all took ~3 s of every CLI start.
 * The order is the order of the help text.
 */
const commandLoaders: Readonly<Record<string, () => Promise<Command<never>>>> = {
  demo: async () => (await import('./commands/demo.js')).demoCommand as Command<never>,
  lab: async () => (await import('./commands/lab.js')).labCommand as Command<never>,
  survey: async () => (await import('./commands/survey.js')).surveyCommand as Command<never>,
  discover: async () => (await import('./commands/discover.js')).discoverCommand as Command<never>,
  grab: async () => (await import('./commands/survey.js')).grabCommand as Command<never>,
  identify: async () => (await import('./commands/survey.js')).identifyCommand as Command<never>,
  access: async () => (await import('./commands/access.js')).accessCommand as Command<never>,
  vuln: async () => (await import('./commands/vuln.js')).vulnCommand as Command<never>,
  import: async () => (await import('./commands/store.js')).importCommand as Command<never>,
  surveys: async () => (await import('./commands/store.js')).surveysCommand as Command<never>,
  endpoints: async () => (await import('./commands/store.js')).endpointsCommand as Command<never>,
  devices: async () => (await import('./commands/survey.js')).devicesCommand as Command<never>,
  findings: async () => (await import('./commands/findings.js')).findingsCommand as Command<never>,
  notify: async () => (await import('./commands/notify.js')).notifyCommand as Command<never>,
  darknet: async () => (await import('./commands/darknet.js')).darknetCommand as Command<never>,
  flows: async () => (await import('./commands/flows.js')).flowsCommand as Command<never>,
  share: async () => (await import('./commands/share.js')).shareCommand as Command<never>,
  isp: async () => (await import('./commands/isp.js')).ispCommand as Command<never>,
  serve: async () => (await import('./commands/serve.js')).serveCommand as Command<never>,
  accounts: async () => (await import('./commands/accounts.js')).accountsCommand as Command<never>,
  scope: async () => (await import('./commands/check.js')).scopeCommand as Command<never>,
  plan: async () => (await import('./commands/check.js')).planCommand as Command<never>,
};

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

/**
 * The command tree for these arguments: only the named command's module when argv names one, every
 * module otherwise (help, --version, an unknown name whose error lists them all).
 */
export async function rootCommand(argv: readonly string[]): Promise<Command<never>> {
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(commandLoaders, first) ? [first] : Object.keys(commandLoaders);
  const loaded = await Promise.all(
    names.map(async (name) => {
      const command = await commandLoaders[name]!();
      if (command.name !== name) throw new Error(`the loader for "${name}" gave the command "${command.name}"`);
      return command;
    }),
  );
  return {
    name: 'iotclean',
    description: 'Survey authorised address space for IoT devices at risk; the lab emulates an ISP network on loopback.',
    version: packageVersion(),
    subcommands: loaded,
  };
}

async function main(): Promise<void> {
  quietOnClosedOutput();
  const argv = process.argv.slice(2);
  try {
    process.exitCode = await runCommand(await rootCommand(argv), argv);
  } catch (e) {
    // Same exit codes with or without --json: 2 for a user's mistake, 1 for a bug.
    printError(e, wantsJson(argv));
    process.exitCode = isIotcleanError(e) ? 2 : 1;
  }
}

await main();
