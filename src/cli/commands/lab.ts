import { defineCommand } from '../command.js';
export const labCommand = defineCommand({ name: 'lab', description: 'pending', async run() { return 1; } });
