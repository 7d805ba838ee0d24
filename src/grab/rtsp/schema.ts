/** The rtsp module's output schema as data (see src/grab/http/schema.ts). */
import { z } from 'zod';
import type { RtspFields } from '../fields.js';

const text = (max: number) => z.string().max(max).refine((s) => !s.includes('\0'), 'no NUL');

/** Schema of RtspFields (src/grab/fields.ts). */
export const rtspFieldsSchema = z.strictObject({
  status: z.number().int().min(100).max(999),
  server: text(512).nullable(),
  methods: z.array(text(32)).max(32),
  describeStatus: z.number().int().min(100).max(999).nullable(),
  realm: text(256).nullable(),
  authSchemes: z.array(text(32)).max(8),
}) satisfies z.ZodType<RtspFields>;
