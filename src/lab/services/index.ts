/**
 * The one registry of lab connection handlers: protocol → handler. The runtime owns the listening
 * sockets and hands each accepted socket to the handler of the service's protocol.
 */
import type { ConnectionHandler, LabProtocol } from '../types.js';
import { telnetHandler } from './telnet.js';
import { sshHandler } from './ssh.js';
import { httpHandler } from './http.js';
import { rtspHandler } from './rtsp.js';
import { endlessHandler, garbageHandler, tarpitHandler } from './awkward.js';

/** Handler for each lab protocol. */
export const handlers: Record<LabProtocol, ConnectionHandler> = {
  telnet: telnetHandler,
  ssh: sshHandler,
  http: httpHandler,
  rtsp: rtspHandler,
  tarpit: tarpitHandler,
  garbage: garbageHandler,
  endless: endlessHandler,
};
