import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { defineCommand, errorJson, helpText, runCommand, type Command } from './command.js';

/** A command with every kind of rule; run returns what it parsed. */
let seen: Record<string, unknown> = {};
const probe = defineCommand({
  name: 'probe',
  description: 'test command',
  options: {
    rate: { type: 'number', min: 0, description: 'rate' },
    seed: { type: 'number', integer: true, min: 0, max: 2 ** 32 - 1, description: 'seed' },
    engine: { type: 'string', choices: ['auto', 'raw', 'net'], default: 'auto', description: 'engine' },
    targets: { type: 'string', list: true, description: 'targets' },
    note: { type: 'string', allowEmpty: true, description: 'may be empty' },
  },
  async run(o) {
    // A choices option is typed as the union: this assignment would not compile for a plain string.
    const engine: 'auto' | 'raw' | 'net' = o.engine;
    seen = { ...o, engine };
  },
});
const root: Command<never> = { name: 'iotclean', description: 'root', version: '9.9.9', subcommands: [probe as Command<never>] };

async function refusal(args: string[]): Promise<IotcleanError> {
  const e = await runCommand(root, ['probe', ...args]).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(IotcleanError);
  expect((e as IotcleanError).code).toBe('E_ARGS');
  return e as IotcleanError;
}

describe('option specs', () => {
  it.each([
    [['--rate', '-1'], '--rate must be a number ≥ 0, got -1'],
    [['--seed', '1e20'], '--seed must be a whole number from 0 to 4294967295, got 1e20'],
    [['--seed', '1.5'], '--seed must be a whole number from 0 to 4294967295, got 1.5'],
    [['--seed', '-1'], '--seed must be a whole number from 0 to 4294967295, got -1'],
    [['--seed', '0x10'], '--seed must be a whole number from 0 to 4294967295, got "0x10"'],
    [['--seed', 'Infinity'], '--seed must be a whole number from 0 to 4294967295, got "Infinity"'],
    [['--rate', ''], '--rate must be a number ≥ 0, got ""'],
    [['--engine', 'fast'], '--engine must be one of auto, raw, net, got "fast"'],
    [['--targets', ''], '--targets is empty'],
    [['--targets', ' '], '--targets is empty'],
    [['--targets', ', ,'], '--targets lists nothing, got ", ,"'],
  ])('refuses %j with a clear message', async (args, message) => {
    expect((await refusal(args)).message).toBe(message);
  });

  it('parses negative numbers as values (then rules apply), and accepts the bounds', async () => {
    await runCommand(root, ['probe', '--seed', '4294967295', '--rate', '0', '--engine', 'raw', '--note', '']);
    expect(seen).toMatchObject({ seed: 4294967295, rate: 0, engine: 'raw', note: '', json: false });
    await runCommand(root, ['probe', '--seed=0']);
    expect(seen).toMatchObject({ seed: 0, engine: 'auto' });
  });

  it('shows choices and ranges in help, from the same specs', () => {
    const text = helpText(['iotclean', 'probe'], probe as Command<never>);
    expect(text).toContain('--engine auto|raw|net');
    expect(text).toMatch(/--seed NUMBER +seed \(a whole number from 0 to 4294967295\)/);
    expect(text).toMatch(/-h, --help/);
  });

  it('a group without its command is an error under --json, help otherwise', async () => {
    const e = await runCommand(root, ['--json']).then(() => undefined, (x: unknown) => x);
    expect(e).toMatchObject({ code: 'E_ARGS', message: 'iotclean needs a command' });
  });

  it('errors have a JSON form with every field present', () => {
    expect(errorJson(new IotcleanError('E_PLAN_FILE', 'bad port', { file: 'p.yaml', line: 4 }))).toEqual({
      error: { code: 'E_PLAN_FILE', message: 'bad port', file: 'p.yaml', line: 4, hint: null },
    });
    expect(errorJson(new Error('boom')).error).toMatchObject({ code: 'E_INTERNAL', message: 'boom' });
  });
});
