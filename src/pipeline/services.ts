/**
 * Service names a plan may give a port (`service: telnet`): what the device on that port is
 * expected to speak. The grab stage will pick its protocol module by this name, so a typo must
 * fail validation rather than leave a port un-grabbed. Add a service here (one line) before using
 * it in a plan. The grab stage passes the name to the grab runner, which maps it to its module
 * (src/grab/runner.ts) and tries the others after it.
 */

export interface ServiceInfo {
  readonly description: string;
}

export const services = {
  ftp: { description: 'FTP (RFC 959)' },
  ssh: { description: 'SSH (RFC 4253)' },
  telnet: { description: 'Telnet (RFC 854), also vendor consoles on other ports' },
  http: { description: 'HTTP web UI or API' },
  https: { description: 'HTTP over TLS' },
  rtsp: { description: 'RTSP video (RFC 2326)' },
  mqtt: { description: 'MQTT broker (OASIS MQTT 3.1.1)' },
  onvif: { description: 'ONVIF camera control over HTTP' },
  adb: { description: 'Android Debug Bridge' },
  cwmp: { description: 'TR-069 CWMP (ISP router management over HTTP)' },
  upnp: { description: 'UPnP control (HTTP/SOAP)' },
  winbox: { description: 'MikroTik Winbox' },
  dvr: { description: 'OEM DVR/NVR client protocol' },
  'xm-dvr': { description: 'XiongMai NetSurveillance / DVRIP' },
  'xm-debug': { description: 'HiSilicon/XiongMai debug port' },
  'dahua-dvr': { description: 'Dahua DVR/NVR service protocol' },
  unknown: { description: 'not known in advance (a port given by number only): the grab stage finds what it speaks' },
} as const satisfies Record<string, ServiceInfo>;

export type ServiceName = keyof typeof services;

export const serviceNames = Object.freeze(Object.keys(services) as ServiceName[]);

export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(services, name);
}
