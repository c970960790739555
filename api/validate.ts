import type { z } from 'zod';
import { fromZod } from './problem';

/** Parses input with a schema or throws a 400 problem naming the offending fields. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw fromZod(result.error);
  return result.data;
}
