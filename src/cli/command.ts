/**
 * Commands declared as data: options, positionals, validation and help come from one definition,
 * parsed with node:util parseArgs (strict: an unknown flag is an error, never silently ignored).
 */
import { parseArgs } from 'node:util';
import { errorCodes, IotcleanError, isIotcleanError, type ErrorCode } from '../core/errors.js';

interface OptionBase {
  readonly description: string;
  /** Placeholder in help, e.g. FILE. */
  readonly value?: string;
}

export interface StringOptionSpec extends OptionBase {
  readonly type: 'string';
  readonly default?: string;
  /** The only values accepted; the parsed type is their union. */
  readonly choices?: readonly string[];
  /** Accept '' (by default an empty or blank value is a mistake, never "use the default"). */
  readonly allowEmpty?: boolean;
  /** A comma-separated list: at least one item must be non-empty. */
  readonly list?: boolean;
  /** The flag may be repeated (`--cpe A --cpe B`); the parsed value is the array of them. */
  readonly multiple?: boolean;
}

export interface NumberOptionSpec extends OptionBase {
  readonly type: 'number';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
  /** Whole numbers only (1.5 and 1e-3 are refused). */
  readonly integer?: boolean;
}

export interface BooleanOptionSpec extends OptionBase {
  readonly type: 'boolean';
  readonly default?: boolean;
  /** One-letter alias, e.g. h for -h. */
  readonly short?: string;
}

export type OptionSpec = StringOptionSpec | NumberOptionSpec | BooleanOptionSpec;

type OptionValue<S extends OptionSpec> = S extends { multiple: true }
  ? string[]
  : S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'number' }
    ? number
    : S extends { choices: readonly (infer C extends string)[] }
      ? C
      : string;
export type ParsedOptions<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { multiple: true } ? string[] : O[K] extends { default: string | number | boolean } ? OptionValue<O[K]> : OptionValue<O[K]> | undefined;
} & { json: boolean };

export interface Output {
  readonly json: boolean;
  /** Print a result: the text for people, the value for --json. */
  result(text: string, value: unknown): void;
  /**
   * Print a long result row by row as it is read (constant memory): one line per row for people,
   * a JSON array for --json (JSON Lines, one object per line, with `jsonLines`). Stops reading
   * once stdout is closed (`| head`).
   */
  stream<T>(rows: AsyncIterable<T>, line: (row: T) => string, options?: { readonly jsonLines?: boolean }): Promise<void>;
  /** Progress and notes for people; silent with --json. */
  info(text: string): void;
}

export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  readonly name: string;
  readonly description: string;
  /** When set, the command takes --version and prints this. */
  readonly version?: string;
  readonly options?: O;
  /** The last positional may be `variadic`: it then takes one or more values (FILE...). */
  readonly positionals?: readonly { readonly name: string; readonly description: string; readonly optional?: boolean; readonly variadic?: boolean }[];
  readonly subcommands?: readonly Command<never>[];
  readonly run?: (opts: ParsedOptions<O>, positionals: readonly string[], out: Output) => Promise<number | void>;
}

/** Typed identity helper so each command's `run` sees its own option types (choices as unions). */
export function defineCommand<const O extends Record<string, OptionSpec>>(c: Command<O>): Command<O> {
  return c;
}

const globalOptions: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print machine-readable JSON (errors too, on stderr)', default: false },
  help: { type: 'boolean', short: 'h', description: 'show this help', default: false },
};
const versionOption: Record<string, OptionSpec> = { version: { type: 'boolean', description: 'print the version', default: false } };

function specsOf(c: Command<never>): Record<string, OptionSpec> {
  return { ...(c.options ?? {}), ...(c.version !== undefined ? versionOption : {}), ...globalOptions } as Record<string, OptionSpec>;
}

/** "a whole number from 0 to 4294967295": the accepted values of a number option, for help and errors. */
function numberRule(o: NumberOptionSpec): string {
  const kind = o.integer ? 'a whole number' : 'a number';
  if (o.min !== undefined && o.max !== undefined) return `${kind} from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return `${kind} ≥ ${o.min}`;
  if (o.max !== undefined) return `${kind} ≤ ${o.max}`;
  return kind;
}

export function helpText(path: readonly string[], c: Command<never>): string {
  const lines = [`Usage: ${path.join(' ')}${c.subcommands ? ' <command>' : ''}${(c.positionals ?? []).map((p) => (p.optional ? ` [${p.name}${p.variadic ? '...' : ''}]` : ` <${p.name}${p.variadic ? '...' : ''}>`)).join('')} [options]`, '', c.description];
  if (c.subcommands?.length) {
    lines.push('', 'Commands:');
    const w = Math.max(...c.subcommands.map((s) => s.name.length));
    for (const s of c.subcommands) lines.push(`  ${s.name.padEnd(w)}  ${s.description}`);
  }
  for (const p of c.positionals ?? []) lines.push('', `  ${p.name}: ${p.description}`);
  const opts = specsOf(c);
  lines.push('', 'Options:');
  const flag = (n: string, o: OptionSpec) => {
    const short = o.type === 'boolean' && o.short ? `-${o.short}, ` : '';
    if (o.type === 'boolean') return `${short}--${n}`;
    const placeholder = o.type === 'string' && o.choices ? o.choices.join('|') : (o.value ?? o.type.toUpperCase());
    return `--${n} ${placeholder}`;
  };
  const w = Math.max(...Object.entries(opts).map(([n, o]) => flag(n, o).length));
  for (const [n, o] of Object.entries(opts)) {
    const rule = o.type === 'number' && (o.integer || o.min !== undefined || o.max !== undefined) ? `; ${numberRule(o)}` : '';
    const def = o.type === 'string' && o.multiple ? ' (repeatable)' : o.default !== undefined && o.type !== 'boolean' ? ` (default: ${o.default}${rule})` : rule ? ` (${rule.slice(2)})` : '';
    lines.push(`  ${flag(n, o).padEnd(w)}  ${o.description}${def}`);
  }
  return lines.join('\n');
}

/** Whether stdout or stderr was closed by the reader (`| head`): further output is dropped. */
let outputClosed = false;

/**
 * A reader that goes away (`iotclean endpoints | head`) is normal use, not a crash: swallow EPIPE
 * on both streams so the command ends quietly with its own exit code. Installed once by main.
 */
export function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
        outputClosed = true;
        return;
      }
      throw e;
    });
  }
}

function write(stream: NodeJS.WriteStream, text: string): void {
  if (!outputClosed && !stream.destroyed) stream.write(text);
}

/** Write and wait while the stream's buffer is full; false once the reader has gone. */
async function writeWaiting(stream: NodeJS.WriteStream, text: string): Promise<boolean> {
  if (outputClosed || stream.destroyed) return false;
  if (!stream.write(text)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        resolve();
      };
      stream.once('drain', done).once('close', done).once('error', done);
    });
  }
  return !outputClosed && !stream.destroyed;
}

function makeOutput(json: boolean): Output {
  return {
    json,
    result(text, value) {
      write(process.stdout, json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
    },
    info(text) {
      if (!json) write(process.stderr, `${text}\n`);
    },
    async stream(rows, line, options = {}) {
      if (json && options.jsonLines) {
        for await (const row of rows) if (!(await writeWaiting(process.stdout, `${JSON.stringify(row)}\n`))) return;
        return;
      }
      let first = true;
      if (json && !(await writeWaiting(process.stdout, '['))) return;
      for await (const row of rows) {
        const text = json ? `${first ? '\n' : ',\n'}  ${JSON.stringify(row)}` : `${line(row)}\n`;
        first = false;
        if (!(await writeWaiting(process.stdout, text))) return;
      }
      if (json) await writeWaiting(process.stdout, first ? ']\n' : '\n]\n');
    },
  };
}

/** The JSON form of an error, as printed on stderr under --json. */
export interface ErrorJson {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly file: string | null; readonly line: number | null; readonly hint: string | null };
}

export function errorJson(e: unknown): ErrorJson {
  if (isIotcleanError(e)) {
    return { error: { code: e.code, message: e.message, file: e.where.file ?? null, line: e.where.line ?? null, hint: e.where.hint ?? null } };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { error: { code: 'E_INTERNAL', message, file: null, line: null, hint: errorCodes.E_INTERNAL } };
}

/** Print an error the way the user asked for output (--json or text), on stderr. */
export function printError(e: unknown, json: boolean): void {
  if (json) write(process.stderr, `${JSON.stringify(errorJson(e))}\n`);
  else if (isIotcleanError(e)) write(process.stderr, `iotclean: ${e.format()}\n`);
  else write(process.stderr, `iotclean: internal error: ${(e as Error).stack ?? String(e)}\n`);
}

/** Whether argv asks for --json (before any "--"), so even a parse error can be printed as JSON. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * parseArgs reads "--rate -1" as a flag without its value ("argument is ambiguous"). A value that
 * looks like a negative number belongs to the option before it, so join the two ("--rate=-1")
 * and let the option's own rule (min) refuse it with a clear message.
 */
function joinNegativeValues(argv: readonly string[], specs: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const spec = name !== undefined && Object.hasOwn(specs, name) ? specs[name] : undefined;
    const next = argv[i + 1];
    if (spec && spec.type !== 'boolean' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

const decimal = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** Check one option's raw text against its spec and return the typed value. */
function optionValue(name: string, o: OptionSpec, raw: string | boolean, hint: string): string | number | boolean {
  const fail = (message: string, extra?: string) => new IotcleanError('E_ARGS', message, { hint: extra ?? hint });
  if (o.type === 'boolean' || typeof raw === 'boolean') return raw;
  if (o.type === 'number') {
    const num = Number(raw);
    if (!decimal.test(raw.trim()) || !Number.isFinite(num)) throw fail(`--${name} must be ${numberRule(o)}, got "${raw}"`);
    if ((o.integer && !Number.isInteger(num)) || (o.min !== undefined && num < o.min) || (o.max !== undefined && num > o.max)) {
      throw fail(`--${name} must be ${numberRule(o)}, got ${raw}`);
    }
    return num;
  }
  if (!o.allowEmpty && raw.trim() === '') throw fail(`--${name} is empty`, `give a value, or leave --${name} out to use its default; see the help`);
  if (o.list && raw.split(',').every((item) => item.trim() === '')) throw fail(`--${name} lists nothing, got "${raw}"`, 'give at least one comma-separated item');
  if (o.choices && !o.choices.includes(raw)) throw fail(`--${name} must be one of ${o.choices.join(', ')}, got "${raw}"`);
  return raw;
}

/** Parse argv against a command tree and run the chosen command. Returns the exit code. */
export async function runCommand(root: Command<never>, argv: readonly string[], path: string[] = [root.name]): Promise<number> {
  const first = argv[0];
  if (root.subcommands && first !== undefined && !first.startsWith('-')) {
    const sub = root.subcommands.find((s) => s.name === first);
    // A command with both (`iotclean plan FILE` and `iotclean plan list`): not a subcommand's name, so its own positional.
    if (!sub && root.run) return runCommand({ ...root, subcommands: undefined }, argv, path);
    if (!sub) {
      throw new IotcleanError('E_ARGS', `unknown command "${first}" for ${path.join(' ')}`, {
        hint: `one of: ${root.subcommands.map((s) => s.name).join(', ')}; see ${path.join(' ')} --help`,
      });
    }
    return runCommand(sub, argv.slice(1), [...path, sub.name]);
  }
  const specs = specsOf(root);
  const hint = `see ${path.join(' ')} --help`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, specs),
      options: Object.fromEntries(
        Object.entries(specs).map(([n, o]) => [n, o.type === 'boolean' ? { type: 'boolean' as const, ...(o.short ? { short: o.short } : {}) } : { type: 'string' as const, ...(o.type === 'string' && o.multiple ? { multiple: true } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new IotcleanError('E_ARGS', (e as Error).message, { hint });
  }
  if (parsed.values.help) {
    write(process.stdout, `${helpText(path, root)}\n`);
    return 0;
  }
  const json = parsed.values.json === true;
  if (root.version !== undefined && parsed.values.version) {
    write(process.stdout, json ? `${JSON.stringify({ version: root.version })}\n` : `${root.version}\n`);
    return 0;
  }
  if (!root.run) {
    // A group without its command: help for people; under --json the same mistake as an error.
    if (json) throw new IotcleanError('E_ARGS', `${path.join(' ')} needs a command`, { hint: `one of: ${(root.subcommands ?? []).map((s) => s.name).join(', ')}` });
    write(process.stdout, `${helpText(path, root)}\n`);
    return 2;
  }
  const values: Record<string, unknown> = {};
  for (const [n, o] of Object.entries(specs)) {
    const v = parsed.values[n];
    if (o.type === 'string' && o.multiple) values[n] = v === undefined ? [] : (v as string[]).map((x) => optionValue(n, o, x, hint));
    else values[n] = v === undefined ? o.default : optionValue(n, o, v as string | boolean, hint);
  }
  const positionals = parsed.positionals;
  const required = (root.positionals ?? []).filter((p) => !p.optional).length;
  const max = root.positionals?.at(-1)?.variadic ? Infinity : (root.positionals ?? []).length;
  if (positionals.length < required || positionals.length > max) {
    throw new IotcleanError('E_ARGS', `${path.join(' ')} takes ${required === max ? max : max === Infinity ? `at least ${required}` : `${required} to ${max}`} argument(s), got ${positionals.length}`, { hint });
  }
  const code = await root.run(values as never, positionals, makeOutput(json));
  return code ?? 0;
}
