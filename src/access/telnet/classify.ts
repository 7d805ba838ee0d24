/**
 * Reading a telnet login conversation: what a screen asks for (login, password, a key press, a
 * menu choice) and how a reply to a password ended. Pure functions over decoded text (IAC removed,
 * CR LF folded to LF, escapes and controls dropped by bannerText), so they can be fuzzed alone.
 *
 * Success is decided in one fixed order (issue 7): a lock-out phrase, a failure phrase, a login
 * re-prompt, a password re-prompt, and only then a reply whose last non-space characters form a
 * shell prompt that the pre-login banner did not already show. A prompt character anywhere else
 * in a reply never counts (hydra's false positive on busybox devices).
 */

/** Text kept per reply; classification needs the phrases and the tail, not megabytes. */
export const maxReplyChars = 16_384;
/** Longest line read as a prompt: a prompt is short, a line of banner art is not. */
const maxPromptChars = 80;

// A colon or ">" after the word: "Welcome user" is prose, "User:" and "Username>" are prompts.
const loginPromptRe = /(?:^|[\s\[(])(?:login|log ?in|login as|user ?name|user|account|user ?id|name)\s*(?:\([^)]{0,40}\))?\s*[:>]$/i;
const passwordPromptRe = /(?:^|[\s\[(])(?:password|passwd|passcode|pass ?word|pin)\s*(?:\([^)]{0,40}\))?\s*[:>]$/i;
/** The last characters of a Unix shell or device console prompt: "# ", "$ ", "> ", "%", "]#". */
const shellEndRe = /[#$>%]$/;
/** A prompt is not a line of decoration ("#####", "-->", ">>>>", "====>"); "/ #" and "~ $" are prompts. */
const decorationRe = /^[#$>%=*\-_.+<|]{3,}$/;

/** Phrases devices print when they refuse a pair (busybox, inetutils, Cisco-like, vendor shells). */
const failureRe =
  /login incorrect|incorrect (?:login|password|user(?:name)?|credentials?)|(?:password|username|login) (?:is )?incorrect|invalid (?:login|password|user(?:name)?|credentials?|account)|(?:login|logon|authentication|auth) (?:failed|failure|error|unsuccessful)|failed (?:login|logon|to log ?in)|access denied|permission denied|wrong (?:password|user(?:name)?|login)|bad (?:password|user(?:name)?|login)|% ?login invalid|% ?bad passwords?|not authori[sz]ed|unauthori[sz]ed|login refused|authentication rejected|no such user|unknown user/i;

/** Phrases of a device that stopped accepting logins for a while. */
const lockRe =
  /too many (?:failed|failures|login|logon|attempts|authentication|tries|errors|users|connections)|(?:account|user|login|ip|host|you) (?:is |are |has been |have been )?(?:temporarily )?(?:locked|blocked|banned|disabled)|locked out|try again (?:later|in \d+)|(?:please )?(?:wait|retry) (?:for )?\d+ ?(?:s\b|sec|seconds|minutes?)|maximum (?:number of )?(?:login|logon|retries|attempts|tries)|(?:login|attempt)s? (?:limit )?exceeded|exceeded (?:the )?(?:maximum|max|number|login|retry)/i;

const pressRe = /(?:press|hit|type) (?:any key|enter|return|the enter key|<enter>|\[enter\]|<return>|\[return\]|<cr>)/i;
/** A menu line offering a login: "1. Login", "[2] Telnet login", "3) Sign in". */
const menuLoginRe = /^\s*[\[(<]?\s*([0-9]{1,2}|[a-z])\s*[\])>.:\-]\s*(?:telnet |user |admin |cli |console )?(?:log ?in|log ?on|sign ?in)\b/im;
/** The question under a menu: "Select:", "Enter your choice>", "Option [1-3]:". */
const menuAskRe = /(?:select|choice|choose|option|selection|enter (?:a |the |your )?(?:number|choice|option|selection))[^\n]{0,40}[:>?]$/i;

/** The last line of the text that holds anything but spaces, trimmed at its end ("" when none). */
export function lastLine(text: string): string {
  const trimmed = text.replace(/\s+$/, '');
  const at = trimmed.lastIndexOf('\n');
  return trimmed.slice(at + 1).trimEnd();
}

/** Whether text ends at a login (user name) prompt. */
export function endsWithLoginPrompt(text: string): boolean {
  const line = lastLine(text);
  return line.length > 0 && line.length <= maxPromptChars && loginPromptRe.test(line) && !passwordPromptRe.test(line);
}

/** Whether text ends at a password prompt. */
export function endsWithPasswordPrompt(text: string): boolean {
  const line = lastLine(text);
  return line.length > 0 && line.length <= maxPromptChars && passwordPromptRe.test(line);
}

/** The shell prompt the text ends with ("/ # ", "root@svr04:~#", "WAP>"), else null. */
export function shellPromptOf(text: string): string | null {
  const line = lastLine(text);
  if (line.length === 0 || line.length > maxPromptChars || !shellEndRe.test(line)) return null;
  if (decorationRe.test(line.replace(/\s+/g, ''))) return null;
  if (loginPromptRe.test(line) || passwordPromptRe.test(line)) return null;
  return line.trim();
}

/**
 * Every line of a pre-login banner that reads as a shell prompt: a reply that ends with one of
 * these proves nothing, since the device showed it before any password.
 */
export function bannerPrompts(banner: string): ReadonlySet<string> {
  const out = new Set<string>();
  for (const line of banner.split('\n').slice(-200)) {
    const p = shellPromptOf(line);
    if (p !== null) out.add(p);
  }
  return out;
}

/** What a pre-login screen asks for. */
export type ScreenKind = 'login' | 'password' | 'press-enter' | 'menu' | 'shell' | 'none';

export interface Screen {
  readonly kind: ScreenKind;
  /** For a menu, the key that picks its login entry. */
  readonly choice?: string;
  readonly prompt?: string;
}

/** What the text before any credential asks for, judged by its end. */
export function classifyScreen(text: string): Screen {
  if (endsWithPasswordPrompt(text)) return { kind: 'password', prompt: lastLine(text) };
  if (endsWithLoginPrompt(text)) return { kind: 'login', prompt: lastLine(text) };
  const tail = text.slice(-1024);
  const line = lastLine(tail);
  const menu = menuLoginRe.exec(tail);
  if (menu && (menuAskRe.test(line) || shellEndRe.test(line) || /:$/.test(line))) return { kind: 'menu', choice: menu[1] ?? '1', prompt: line };
  const lastTwo = tail.replace(/\s+$/, '').split('\n').slice(-2).join('\n');
  if (pressRe.test(lastTwo)) return { kind: 'press-enter', prompt: line };
  const shell = shellPromptOf(text);
  if (shell !== null) return { kind: 'shell', prompt: shell };
  return { kind: 'none' };
}

/** How a reply to a password (or to a user name) ended. */
export type ReplyKind = 'locked' | 'failure' | 'login-prompt' | 'password-prompt' | 'shell' | 'none';

export interface ReplyVerdict {
  readonly kind: ReplyKind;
  /** A few words for the audit ("failure phrase 'Login incorrect'", "shell prompt '/ #'"). */
  readonly detail: string;
}

/**
 * Classify a reply in the fixed order. `banner` holds the prompts the device showed before any
 * credential (bannerPrompts); a shell prompt among them is not a success.
 */
export function classifyReply(reply: string, banner: ReadonlySet<string>): ReplyVerdict {
  const text = reply.length > maxReplyChars ? reply.slice(-maxReplyChars) : reply;
  const locked = lockRe.exec(text);
  if (locked) return { kind: 'locked', detail: `lock-out phrase '${locked[0]}'` };
  const failed = failureRe.exec(text);
  if (failed) return { kind: 'failure', detail: `failure phrase '${failed[0]}'` };
  if (endsWithLoginPrompt(text)) return { kind: 'login-prompt', detail: 'login re-prompt' };
  if (endsWithPasswordPrompt(text)) return { kind: 'password-prompt', detail: 'password re-prompt' };
  const shell = shellPromptOf(text);
  if (shell !== null) {
    if (banner.has(shell)) return { kind: 'none', detail: `prompt '${shell}' was already in the banner` };
    return { kind: 'shell', detail: `shell prompt '${shell}'` };
  }
  return { kind: 'none', detail: 'no prompt at the end of the reply' };
}

/**
 * Drop the echo of what we typed from the start of a reply: a device that echoes a password
 * ("pa$$\n") must not make its last character look like a prompt.
 */
export function withoutEcho(reply: string, typed: string): string {
  if (typed === '') return reply;
  const start = reply.replace(/^\n+/, '');
  if (start.startsWith(typed)) return start.slice(typed.length);
  return reply;
}
