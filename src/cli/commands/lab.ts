import { labDown, labStatus, labUp } from '../../lab/runtime.js';
import { defineCommand } from '../command.js';

const dirOption = { dir: { type: 'string', value: 'DIR', description: 'folder of the lab\'s state, ISP table and ground truth', default: '.lab' } } as const;

export const labUpCommand = defineCommand({
  name: 'up',
  description: 'Start the lab in the background: simulated ISPs and emulated IoT devices on loopback.',
  options: {
    ...dirOption,
    devices: { type: 'number', value: 'N', integer: true, min: 1, description: 'number of devices', default: 1000 },
    seed: { type: 'string', value: 'S', description: 'seed of the population (same seed, same lab)', default: 'iotclean' },
    network: { type: 'string', value: 'CIDR', description: 'loopback network the lab uses', default: '127.77.0.0/16' },
    'weak-share': { type: 'number', value: 'X', min: 0, max: 1, description: 'share of devices with weak credentials', default: 0.4 },
    'port-base': { type: 'number', value: 'N', integer: true, min: 1, max: 65535, description: 'first high port for device ports that cannot be bound', default: 40000 },
  },
  async run(o, _args, out) {
    out.info(`starting the lab: ${o.devices} devices in ${o.network} ...`);
    const s = await labUp({ dir: o.dir, devices: o.devices, seed: o.seed, network: o.network, weakShare: o['weak-share'], portBase: o['port-base'] });
    const moved = Object.entries(s.portMap).filter(([k, v]) => Number(k) !== v);
    out.result(
      [
        `lab up in ${s.dir}: ${s.devices} devices, ${s.listeners} listeners in ${s.network}, ${s.shards.length} process(es), ${(s.startupMs / 1000).toFixed(1)} s`,
        moved.length ? `  ports moved (no root or taken): ${moved.map(([k, v]) => `${k}→${v}`).join(' ')}` : '  all devices on their real ports',
        `  prefix→ISP table: ${s.ispTablePath}`,
      ].join('\n'),
      s,
    );
  },
});

export const labDownCommand = defineCommand({
  name: 'down',
  description: 'Stop the lab running in --dir.',
  options: { ...dirOption },
  async run(o, _args, out) {
    const r = await labDown(o.dir);
    out.result(`lab down: stopped ${r.stopped.length} process(es)`, r);
  },
});

export const labStatusCommand = defineCommand({
  name: 'status',
  description: 'Say whether a lab is running in --dir, and what it holds.',
  options: { ...dirOption },
  async run(o, _args, out) {
    const s = labStatus(o.dir);
    const text = s.running && s.state
      ? `lab running in ${s.dir}: ${s.state.devices} devices in ${s.state.network}, ${s.alive}/${s.shards.length} processes alive, since ${s.state.startedAt}`
      : `no lab running in ${s.dir}`;
    out.result(text, s);
    return s.running ? 0 : 3;
  },
});

export const labCommand = defineCommand({
  name: 'lab',
  description: 'The emulated ISP network on loopback: lab up | down | status.',
  subcommands: [labUpCommand, labDownCommand, labStatusCommand] as never[],
});
