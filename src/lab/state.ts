/** The lab's published state as other stages need it: where its services listen. */
import { IotcleanError } from '../core/errors.js';
import { labStatus, type LabState } from './runtime.js';

/** The running lab in `dir`, or a clear error saying how to start one. */
export function runningLab(dir: string): LabState {
  const status = labStatus(dir);
  if (!status.running || !status.state) {
    throw new IotcleanError('E_LAB', `no lab is running in ${status.dir}`, { hint: 'start one with: iotclean lab up' });
  }
  return status.state;
}

/** Device port → port the lab binds it on (only ports that moved). */
export function labPortMap(state: Pick<LabState, 'portMap'>): Map<number, number> {
  return new Map(Object.entries(state.portMap).map(([k, v]) => [Number(k), v] as const).filter(([k, v]) => k !== v));
}
