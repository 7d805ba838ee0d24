/** `iotclean flows detect | live | generate`: C&C detection, liveness and lab flows (filled by the detection work). */
import type { Command } from '../command.js';

export const flowsDetectCommands: Command<never>[] = [];
