/**
 * Entry of one lab shard process, started detached by `labUp`. It receives its devices over the
 * IPC channel, binds their services, answers "ready" (or "error") and then serves until SIGTERM.
 * The parent disconnects after "ready"; the listening sockets keep this process alive.
 */
import { IotcleanError } from '../core/errors.js';
import { listenDevices, type Listening } from './listen.js';
import { writeLockouts } from './lockouts.js';
import { ownerAckFile, readOwnerActions, writeOwnerAck } from './owner-actions.js';
import { devicesOfRequest, type ShardReply, type ShardRequest } from './shards.js';
import { adoptCertificates } from './tls/certificates.js';

function reply(msg: ShardReply): void {
  if (process.send && process.connected) process.send(msg);
}

function log(text: string): void {
  process.stdout.write(`${new Date().toISOString()} shard ${process.pid}: ${text}\n`);
}

async function start(req: ShardRequest): Promise<void> {
  const devices = devicesOfRequest(req);
  if (req.certificates) adoptCertificates(req.certificates);
  const running = await listenDevices(devices, req.portMap);
  log(`${devices.length} devices, ${running.listeners} listeners (${devices[0]?.ip} .. ${devices[devices.length - 1]?.ip})`);
  const saveLockouts = req.lockoutFile !== undefined ? keepLockouts(running, req.lockoutFile) : () => undefined;
  const stop = (signal: string): void => {
    log(`${signal}: stopping`);
    saveLockouts();
    void running.close().finally(() => process.exit(0));
    // Closing waits for nothing long, but never let a stuck socket keep the shard alive.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  if (req.dir !== undefined && req.index !== undefined) followOwnerActions(running, req.dir, req.index);
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  reply({ type: 'ready', listeners: running.listeners });
}

/**
 * On SIGHUP, apply the owners' actions of a new generation (src/lab/owner-actions.ts) and
 * acknowledge it, so `labApplyOwnerActions` knows every shard has them before a re-scan starts.
 */
function followOwnerActions(running: Listening, dir: string, index: number): void {
  let applied = 0;
  const ack = ownerAckFile(dir, index);
  process.on('SIGHUP', () => {
    try {
      const file = readOwnerActions(dir);
      if (!file || file.generation <= applied) return;
      const changed = running.applyOwnerActions(file.actions, file.generation);
      applied = file.generation;
      writeOwnerAck(ack, applied, changed);
      log(`owner actions generation ${applied}: ${changed} devices changed`);
    } catch (e) {
      log(`owner actions: ${e instanceof IotcleanError ? e.format() : String(e)}`);
    }
  });
}

/**
 * Keep the shard's lock-out record in `file`: written at start, within half a second of any change
 * and by the returned function (on stop). Only lock-out devices are in it, so it stays small.
 */
function keepLockouts(running: Listening, file: string): () => void {
  let last = '';
  const save = (): void => {
    const records = running.lockouts();
    const text = JSON.stringify(records);
    if (text === last) return;
    try {
      writeLockouts(file, records);
      last = text;
    } catch (e) {
      log(`cannot write ${file}: ${String(e)}`);
    }
  };
  save();
  setInterval(save, 500).unref();
  return save;
}

// A handler bug must not take the other devices down; log it and keep serving.
process.on('uncaughtException', (e) => log(`uncaught: ${e.stack ?? String(e)}`));
process.on('unhandledRejection', (e) => log(`unhandled rejection: ${String(e)}`));
// The parent leaves after "ready"; that is normal, not a reason to stop.
process.on('disconnect', () => undefined);

if (!process.send) {
  log('started without an IPC channel; run through `iotclean lab up`');
  process.exit(2);
}
process.once('message', (msg: ShardRequest) => {
  if (msg?.type !== 'start') {
    reply({ type: 'error', message: 'expected a start message' });
    process.exit(2);
  }
  start(msg).catch((e: unknown) => {
    const message = e instanceof IotcleanError ? e.format() : String(e);
    log(message);
    reply({ type: 'error', message });
    setTimeout(() => process.exit(1), 100);
  });
});
