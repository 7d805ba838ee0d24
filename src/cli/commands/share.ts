/** `iotclean share export | serve | pull`: C&C lists as STIX 2.1 / TAXII 2.1 / MISP (filled by the sharing work). */
import { defineCommand, type Command } from '../command.js';

export const shareCommands: Command<never>[] = [];

export const shareCommand = defineCommand({
  name: 'share',
  description: 'Share C&C lists: share export | serve | pull (STIX 2.1 bundles, a TAXII 2.1 server and client, MISP JSON).',
  subcommands: shareCommands as never[],
});
