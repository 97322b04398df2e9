// The errno values epctl meets on PCI endpoint boards: Linux numbers (arm64 and x86 share
// them, include/uapi/asm-generic/errno-base.h and errno.h) and the descriptions node:fs
// (libuv) prints, so an error from the fake kernel reads exactly like one from a real board.

export const ERRNO = {
  EPERM: { errno: 1, description: 'operation not permitted' },
  ENOENT: { errno: 2, description: 'no such file or directory' },
  EIO: { errno: 5, description: 'i/o error' },
  // A recording's FIFO, socket or device node: nothing behind it to read. open(2) of a socket
  // answers ENXIO (fs/inode.c no_open), as does a device node whose driver is absent.
  ENXIO: { errno: 6, description: 'no such device or address' },
  EAGAIN: { errno: 11, description: 'resource temporarily unavailable' },
  ENOMEM: { errno: 12, description: 'not enough memory' },
  EACCES: { errno: 13, description: 'permission denied' },
  EFAULT: { errno: 14, description: 'bad address in system call argument' },
  EBUSY: { errno: 16, description: 'resource busy or locked' },
  EEXIST: { errno: 17, description: 'file already exists' },
  EXDEV: { errno: 18, description: 'cross-device link not permitted' },
  ENODEV: { errno: 19, description: 'no such device' },
  ENOTDIR: { errno: 20, description: 'not a directory' },
  EISDIR: { errno: 21, description: 'illegal operation on a directory' },
  EINVAL: { errno: 22, description: 'invalid argument' },
  // A file larger than anything the kernel writes there (src/kernel/limits.ts): the errno of
  // "over a size limit" (fs/read_write.c generic_write_check_limits, RLIMIT_FSIZE).
  EFBIG: { errno: 27, description: 'file too large' },
  ENOSPC: { errno: 28, description: 'no space left on device' },
  EROFS: { errno: 30, description: 'read-only file system' },
  ERANGE: { errno: 34, description: 'result too large' },
  ENAMETOOLONG: { errno: 36, description: 'name too long' },
  ENOTEMPTY: { errno: 39, description: 'directory not empty' },
  ELOOP: { errno: 40, description: 'too many symbolic links encountered' },
  ENODATA: { errno: 61, description: 'no data available' },
  EOPNOTSUPP: { errno: 95, description: 'operation not supported on socket' },
  ETIMEDOUT: { errno: 110, description: 'connection timed out' },
  EALREADY: { errno: 114, description: 'connection already in progress' },
} as const;

export type ErrnoCode = keyof typeof ERRNO;

export function isErrnoCode(code: unknown): code is ErrnoCode {
  return typeof code === 'string' && Object.hasOwn(ERRNO, code);
}
