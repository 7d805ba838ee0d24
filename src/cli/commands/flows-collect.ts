/** `iotclean flows collect | import`: flow collection and import (filled by the collection work). */
import type { Command } from '../command.js';

export const flowsCollectCommands: Command<never>[] = [];
