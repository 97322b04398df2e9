// Where tracefs lives and the files of one trace array (the top level or instances/<name>/),
// fs/tracefs/inode.c, include/trace/events/irq.h. tracefs is mounted at /sys/kernel/tracing since v4.1 (fs/tracefs/inode.c);
// with debugfs mounted the same tree is automounted at /sys/kernel/debug/tracing
// (kernel/trace/trace.c tracer_init_tracefs → debugfs_create_automount). `instances/<name>`
// (kernel/trace/trace.c instance_mkdir) is a private trace array with its own ring buffer,
// events/ tree and trace_pipe.
export const TRACEFS = '/sys/kernel/tracing';
export const DEBUGFS_TRACING = '/sys/kernel/debug/tracing';

/** The irq events of include/trace/events/irq.h that fire around every action of an IRQ. */
export const IRQ_EVENTS = ['irq_handler_entry', 'irq_handler_exit'] as const;
export type IrqEventName = (typeof IRQ_EVENTS)[number];

/** Prefix of the private instances epctl makes: `epctl-<pid>`. */
export const INSTANCE_PREFIX = 'epctl-';

export const instanceDir = (root: string, name: string): string => `${root}/instances/${name}`;
export const eventDir = (array: string, event: IrqEventName): string => `${array}/events/irq/${event}`;
export const tracePipe = (array: string): string => `${array}/trace_pipe`;
/** The array's trace clock: the names of kernel/trace/trace.c trace_clocks[], the one in use in brackets. */
export const traceClock = (array: string): string => `${array}/trace_clock`;
