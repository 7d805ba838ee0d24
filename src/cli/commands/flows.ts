/** `iotclean flows …`: flow records (collect, import) and C&C detection on them (detect, live, generate). */
import { defineCommand } from '../command.js';
import { flowsCollectCommands } from './flows-collect.js';
import { flowsDetectCommands } from './flows-detect.js';

export const flowsCommand = defineCommand({
  name: 'flows',
  description: 'Flow records (headers only): flows collect | import | export | detect | live | generate.',
  subcommands: [...flowsCollectCommands, ...flowsDetectCommands] as never[],
});
