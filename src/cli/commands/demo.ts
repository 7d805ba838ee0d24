import { defineCommand } from '../command.js';
export const demoCommand = defineCommand({ name: 'demo', description: 'pending', async run() { return 1; } });
