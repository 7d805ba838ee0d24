/**
 * `iotclean accounts`: the web server's accounts from the command line (the first admin is made
 * here). A password is read from stdin (--password-stdin) or the IOTCLEAN_PASSWORD environment
 * variable, never from a flag (flags end up in shell history and `ps`). Disabling an account or
 * setting its password ends its sessions. Every change goes to the web audit log as "cli:<user>".
 */
import { userInfo } from 'node:os';
import { IotcleanError } from '../../core/errors.js';
import type { Store } from '../../store/store.js';
import { newAccountSchema } from '../../web/admin/index.js';
import { defaultScryptLog2N, hashPassword, passwordProblem } from '../../web/auth/passwords.js';
import { roles, type Account, type Role } from '../../web/types.js';
import { defineCommand, type Output } from '../command.js';
import { storeOption, withStore } from '../context.js';

const passwordOption = {
  'password-stdin': { type: 'boolean', description: 'read the password from stdin (first line); otherwise from $IOTCLEAN_PASSWORD', default: false },
} as const;

/** Read a password from stdin's first line or the environment; refuse a weak or missing one. */
export async function readPassword(fromStdin: boolean, stdin: NodeJS.ReadableStream = process.stdin, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let password: string | undefined;
  if (fromStdin) {
    let text = '';
    for await (const chunk of stdin) {
      text += chunk.toString();
      if (text.includes('\n') || text.length > 4096) break;
    }
    password = text.split(/\r?\n/)[0];
  } else password = env.IOTCLEAN_PASSWORD;
  if (password === undefined || password === '') {
    throw new IotcleanError('E_ARGS', 'no password given', { hint: 'pipe it in with --password-stdin, or set IOTCLEAN_PASSWORD (never a command-line flag)' });
  }
  const problem = passwordProblem(password);
  if (problem) throw new IotcleanError('E_ARGS', problem, { hint: 'choose a longer passphrase' });
  return password;
}

const actor = (): string => {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
};

const audit = (store: Store, action: string, target: string, detail: Record<string, unknown> = {}) => store.web.audit({ accountId: null, accountName: actor(), ip: 'local', action, target, detail }, Date.now());

/** Create an account (validated as the web form validates it). */
export async function addAccount(store: Store, a: { name: string; role: string; isp?: string | undefined; displayName?: string | undefined; password: string }, log2N = defaultScryptLog2N): Promise<Account> {
  const parsed = newAccountSchema.safeParse(a);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const flag = { name: 'NAME', role: '--role', isp: '--isp', displayName: '--display-name', password: 'the password' }[String(i.path[0]) as 'name'] ?? String(i.path[0]);
    throw new IotcleanError('E_ARGS', `${flag}: ${i.message}`, { hint: 'see iotclean accounts add --help' });
  }
  const v = parsed.data;
  const account = await store.web.createAccount({ name: v.name, role: v.role, isp: v.isp ?? null, displayName: v.displayName ?? v.name, passwordHash: await hashPassword(v.password, log2N) }, Date.now());
  await audit(store, 'account.create', account.name, { role: account.role, isp: account.isp });
  return account;
}

async function named(store: Store, name: string): Promise<Account> {
  const found = await store.web.accountByName(name.trim().toLowerCase());
  if (!found) throw new IotcleanError('E_ARGS', `there is no account named ${name}`, { hint: 'see iotclean accounts list' });
  return found.account;
}

/** Disable or enable an account; disabling ends its sessions. Returns the sessions ended. */
export async function setAccountDisabled(store: Store, name: string, disabled: boolean): Promise<{ account: Account; sessionsEnded: number }> {
  const a = await named(store, name);
  await store.web.setDisabled(a.id, disabled);
  const sessionsEnded = disabled ? await store.web.deleteSessions(a.id) : 0;
  await audit(store, disabled ? 'account.disable' : 'account.enable', a.name, disabled ? { sessionsEnded } : {});
  return { account: { ...a, disabled }, sessionsEnded };
}

/** Set an account's password and end its sessions. */
export async function setAccountPassword(store: Store, name: string, password: string, log2N = defaultScryptLog2N): Promise<{ account: Account; sessionsEnded: number }> {
  const a = await named(store, name);
  await store.web.setPassword(a.id, await hashPassword(password, log2N), Date.now());
  const sessionsEnded = await store.web.deleteSessions(a.id);
  await audit(store, 'account.password', a.name, { sessionsEnded });
  return { account: a, sessionsEnded };
}

const line = (a: Account): string => `${a.name.padEnd(20)} ${a.role.padEnd(8)} ${(a.isp ?? '-').padEnd(16)} ${a.disabled ? 'disabled' : 'active  '} ${a.displayName}`;

const nameArg = [{ name: 'NAME', description: 'the login name (3–64 of a-z 0-9 . _ -)' }] as const;

export const accountsAddCommand = defineCommand({
  name: 'add',
  description: 'Create a web account; the password comes from stdin (--password-stdin) or $IOTCLEAN_PASSWORD, at least 12 characters.',
  positionals: nameArg,
  options: {
    role: { type: 'string', choices: roles, value: 'ROLE', description: 'admin (operator who manages accounts), analyst (operator) or isp (one ISP\'s user)' },
    isp: { type: 'string', value: 'ID', description: 'the ISP of an isp account (required for --role isp, refused otherwise)' },
    'display-name': { type: 'string', value: 'TEXT', description: 'the name shown on pages (default: NAME)' },
    ...passwordOption,
    ...storeOption,
  },
  async run(o, [name], out: Output) {
    if (o.role === undefined) throw new IotcleanError('E_ARGS', 'accounts add needs --role admin|analyst|isp', { hint: 'see iotclean accounts add --help' });
    const password = await readPassword(o['password-stdin']);
    return withStore(o.db, async (store) => {
      const a = await addAccount(store, { name: name!, role: o.role as Role, isp: o.isp, displayName: o['display-name'], password });
      out.result(`account ${a.name} (${a.role}${a.isp ? `, ISP ${a.isp}` : ''}) created`, a);
      return 0;
    });
  },
});

export const accountsListCommand = defineCommand({
  name: 'list',
  description: 'List the web accounts (name, role, ISP, state, display name).',
  options: { ...storeOption },
  async run(o, _args, out: Output) {
    return withStore(
      o.db,
      async (store) => {
        const list = await store.web.listAccounts();
        out.result(list.length ? list.map(line).join('\n') : 'no accounts yet: iotclean accounts add NAME --role admin --password-stdin', list);
        return 0;
      },
      { readOnly: true },
    );
  },
});

function toggleCommand(disabled: boolean) {
  return defineCommand({
    name: disabled ? 'disable' : 'enable',
    description: disabled ? 'Disable an account and end its sessions at once.' : 'Enable a disabled account again.',
    positionals: nameArg,
    options: { ...storeOption },
    async run(o, [name], out: Output) {
      return withStore(o.db, async (store) => {
        const r = await setAccountDisabled(store, name!, disabled);
        out.result(disabled ? `account ${r.account.name} disabled; ${r.sessionsEnded} session(s) ended` : `account ${r.account.name} enabled`, r);
        return 0;
      });
    },
  });
}

export const accountsPasswordCommand = defineCommand({
  name: 'password',
  description: 'Set an account\'s password (from stdin with --password-stdin, or $IOTCLEAN_PASSWORD) and end its sessions.',
  positionals: nameArg,
  options: { ...passwordOption, ...storeOption },
  async run(o, [name], out: Output) {
    const password = await readPassword(o['password-stdin']);
    return withStore(o.db, async (store) => {
      const r = await setAccountPassword(store, name!, password);
      out.result(`password of ${r.account.name} set; ${r.sessionsEnded} session(s) ended`, r);
      return 0;
    });
  },
});

export const accountsCommand = defineCommand({
  name: 'accounts',
  description: 'Web accounts (operators and ISP users): add, list, disable, enable, password.',
  subcommands: [accountsAddCommand, accountsListCommand, toggleCommand(true), toggleCommand(false), accountsPasswordCommand] as never[],
});
