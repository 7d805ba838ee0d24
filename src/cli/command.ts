/**
 * Commands declared as data: options, positionals and help come from one definition, parsed with
 * node:util parseArgs (strict: an unknown flag is an error, never silently ignored).
 */
import { parseArgs } from 'node:util';
import { IotcleanError } from '../core/errors.js';

export interface OptionSpec {
  readonly type: 'string' | 'number' | 'boolean';
  readonly description: string;
  readonly default?: string | number | boolean;
  /** Placeholder in help, e.g. FILE. */
  readonly value?: string;
}

type OptionValue<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : S['type'] extends 'number' ? number : string;
export type ParsedOptions<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { default: string | number | boolean } ? OptionValue<O[K]> : OptionValue<O[K]> | undefined;
} & { json: boolean };

export interface Output {
  readonly json: boolean;
  /** Print a result: the text for people, the value for --json. */
  result(text: string, value: unknown): void;
  /** Progress and notes for people; silent with --json. */
  info(text: string): void;
}

export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  readonly name: string;
  readonly description: string;
  readonly options?: O;
  readonly positionals?: readonly { readonly name: string; readonly description: string; readonly optional?: boolean }[];
  readonly subcommands?: readonly Command<never>[];
  readonly run?: (opts: ParsedOptions<O>, positionals: readonly string[], out: Output) => Promise<number | void>;
}

/** Typed identity helper so each command's `run` sees its own option types. */
export function defineCommand<O extends Record<string, OptionSpec>>(c: Command<O>): Command<O> {
  return c;
}

const globalOptions: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print machine-readable JSON', default: false },
  help: { type: 'boolean', description: 'show this help', default: false },
};

export function helpText(path: readonly string[], c: Command<never>): string {
  const lines = [`Usage: ${path.join(' ')}${c.subcommands ? ' <command>' : ''}${(c.positionals ?? []).map((p) => (p.optional ? ` [${p.name}]` : ` <${p.name}>`)).join('')} [options]`, '', c.description];
  if (c.subcommands?.length) {
    lines.push('', 'Commands:');
    const w = Math.max(...c.subcommands.map((s) => s.name.length));
    for (const s of c.subcommands) lines.push(`  ${s.name.padEnd(w)}  ${s.description}`);
  }
  for (const p of c.positionals ?? []) lines.push('', `  ${p.name}: ${p.description}`);
  const opts = { ...(c.options ?? {}), ...globalOptions } as Record<string, OptionSpec>;
  lines.push('', 'Options:');
  const flag = (n: string, o: OptionSpec) => `--${n}${o.type === 'boolean' ? '' : ` ${o.value ?? o.type.toUpperCase()}`}`;
  const w = Math.max(...Object.entries(opts).map(([n, o]) => flag(n, o).length));
  for (const [n, o] of Object.entries(opts)) {
    const def = o.default !== undefined && o.type !== 'boolean' ? ` (default: ${o.default})` : '';
    lines.push(`  ${flag(n, o).padEnd(w)}  ${o.description}${def}`);
  }
  return lines.join('\n');
}

function makeOutput(json: boolean): Output {
  return {
    json,
    result(text, value) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
    },
    info(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

/** Parse argv against a command tree and run the chosen command. Returns the exit code. */
export async function runCommand(root: Command<never>, argv: readonly string[], path: string[] = [root.name]): Promise<number> {
  const first = argv[0];
  if (root.subcommands && first !== undefined && !first.startsWith('-')) {
    const sub = root.subcommands.find((s) => s.name === first);
    if (!sub) {
      throw new IotcleanError('E_ARGS', `unknown command "${first}" for ${path.join(' ')}`, {
        hint: `one of: ${root.subcommands.map((s) => s.name).join(', ')}; see ${path.join(' ')} --help`,
      });
    }
    return runCommand(sub, argv.slice(1), [...path, sub.name]);
  }
  const specs = { ...(root.options ?? {}), ...globalOptions } as Record<string, OptionSpec>;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(specs).map(([n, o]) => [n, { type: o.type === 'boolean' ? 'boolean' : 'string' }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new IotcleanError('E_ARGS', (e as Error).message, { hint: `see ${path.join(' ')} --help` });
  }
  if (parsed.values.help || !root.run) {
    process.stdout.write(`${helpText(path, root)}\n`);
    return parsed.values.help ? 0 : 2;
  }
  const values: Record<string, unknown> = {};
  for (const [n, o] of Object.entries(specs)) {
    const v = parsed.values[n];
    if (v === undefined) values[n] = o.default;
    else if (o.type === 'number') {
      const num = Number(v);
      if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(num)) {
        throw new IotcleanError('E_ARGS', `--${n} must be a number, got "${String(v)}"`, { hint: `see ${path.join(' ')} --help` });
      }
      values[n] = num;
    } else values[n] = v;
  }
  const positionals = parsed.positionals;
  const required = (root.positionals ?? []).filter((p) => !p.optional).length;
  const max = (root.positionals ?? []).length;
  if (positionals.length < required || positionals.length > max) {
    throw new IotcleanError('E_ARGS', `${path.join(' ')} takes ${required === max ? max : `${required} to ${max}`} argument(s), got ${positionals.length}`, {
      hint: `see ${path.join(' ')} --help`,
    });
  }
  const code = await root.run(values as never, positionals, makeOutput(values.json === true));
  return code ?? 0;
}
