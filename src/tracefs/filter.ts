// The event filters epctl writes into events/irq/irq_handler_entry/filter: the doorbell action
// names, as string predicates joined with "||" (kernel/trace/trace_events_filter.c:
// parse_pred takes a quoted value for a string field — `name` is `__data_loc char[]` in
// include/trace/events/irq.h — with ==, != or the glob operator ~; predicate_parse joins with
// && and ||). A value may not hold its own quote character (the kernel has no escapes) and is
// shorter than MAX_FILTER_STR_VAL (256, kernel/trace/trace.h).
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';

export const MAX_FILTER_STR_VAL = 256;

/** A string the kernel parses as one quoted value of a string predicate. */
export function isFilterValue(value: string): boolean {
  return value.length > 0 && value.length < MAX_FILTER_STR_VAL && !value.includes('"') && !/[\0\n]/.test(value);
}

/** `name == "a" || name == "b"`: the entry events of exactly these actions. */
export function actionFilter(names: readonly string[]): string {
  if (names.length === 0) throw new RangeError('an action filter needs at least one name');
  for (const n of names)
    if (!isFilterValue(n))
      throw new EpctlError(`cannot filter trace events on the action name ${JSON.stringify(n)}`, { exitCode: EXIT.USAGE, hint: 'action names in a tracefs filter cannot hold a double quote, a newline or NUL, and are shorter than 256 bytes' });
  return names.map((n) => `name == "${n}"`).join(' || ');
}

/** `irq == 18 || irq == 19`: the events of these virqs. */
export function irqFilter(virqs: readonly number[]): string {
  if (virqs.length === 0) throw new RangeError('an irq filter needs at least one virq');
  return virqs.map((v) => `irq == ${Math.trunc(v)}`).join(' || ');
}
