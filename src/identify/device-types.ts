/**
 * Recog's `hw.device` / `os.device` values onto iotclean's device types. The table lists the values
 * Recog's xml/ files actually use (grep 'name="hw.device"'); a value not in it is a device of a kind
 * iotclean does not classify ("other"), never a guess at one it does.
 */
import { deviceTypes, type DeviceType } from '../core/records.js';

const table: Readonly<Record<string, DeviceType>> = {
  router: 'router',
  'broadband router': 'router',
  'dsl modem': 'modem',
  'adsl modem': 'modem',
  'cable modem': 'modem',
  'docsis cable modem': 'modem',
  wap: 'access-point',
  'wlan repeater': 'access-point',
  'wireless controller': 'access-point',
  'ip camera': 'camera',
  'web cam': 'camera',
  'video encoder': 'camera',
  dvr: 'dvr',
  nvr: 'dvr',
  'cloud network video recorder': 'dvr',
  nas: 'nas',
  storage: 'nas',
  'storage appliance': 'nas',
  printer: 'printer',
  'multifunction device': 'printer',
  'print server': 'printer',
  switch: 'switch',
  hub: 'switch',
  firewall: 'firewall',
  'security appliance': 'firewall',
  vpn: 'firewall',
  ips: 'firewall',
  'sd-wan appliance': 'firewall',
  voip: 'voip',
  'voip gateway': 'voip',
  'voip server': 'voip',
  'voip switch': 'voip',
  'sip gateway': 'voip',
  'sip device': 'voip',
  'voice appliance': 'voip',
  'media gateway': 'voip',
  'media server': 'media',
  'media player': 'media',
  'media receiver': 'media',
  'smart tv': 'media',
  'network audio': 'media',
  'av receiver': 'media',
  iptv: 'media',
  'lights out management': 'server',
  hypervisor: 'server',
  'power device': 'iot',
  ups: 'iot',
  plc: 'iot',
  'hmi controller': 'iot',
  sensor: 'iot',
  'light bulb': 'iot',
  'building automation': 'iot',
  'industrial control': 'iot',
  'environment control': 'iot',
  'relay controller': 'iot',
  'power relay': 'iot',
  'power meter': 'iot',
  'alarm panel': 'iot',
  'access control': 'iot',
  'device hub': 'iot',
  pdu: 'iot',
  'web proxy': 'server',
};

const known = new Set<string>(deviceTypes);

/** iotclean's type for a Recog device value or an iotclean device.type; null for none. */
export function deviceTypeOf(value: string | undefined): DeviceType | null {
  if (value === undefined) return null;
  const v = value.trim().toLowerCase();
  if (v === '') return null;
  if (known.has(v)) return v as DeviceType;
  return table[v] ?? 'other';
}
