/**
 * The one registry of lab connection handlers: protocol → handler. The runtime owns the listening
 * sockets and hands each accepted socket to the handler of the service's protocol.
 */
import type { ConnectionHandler, LabProtocol } from '../types.js';
import { telnetHandler } from './telnet.js';
import { sshHandler } from './ssh.js';
import { httpHandler, httpsHandler } from './http.js';
import { rtspHandler } from './rtsp.js';
import { ftpHandler } from './ftp.js';
import { mqttHandler } from './mqtt.js';
import { endlessHandler, garbageHandler, tarpitHandler } from './awkward.js';

/** Handler for each lab protocol. */
export const handlers: Record<LabProtocol, ConnectionHandler> = {
  telnet: telnetHandler,
  ssh: sshHandler,
  http: httpHandler,
  https: httpsHandler,
  rtsp: rtspHandler,
  ftp: ftpHandler,
  mqtt: mqttHandler,
  tarpit: tarpitHandler,
  garbage: garbageHandler,
  endless: endlessHandler,
};
