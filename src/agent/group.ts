// The agent gives its socket to a group named in its options. The name is resolved from the
// local group database, /etc/group, read here with a small parser (no shell, no getent): group(5)
// says each line is `group_name:password:GID:user_list`, the user list comma-separated. Lines
// that are not of that shape (blank, `#` comments some tools leave, the `+`/`-` NIS compat
// entries of nsswitch.conf(5)'s "compat" mode) are skipped. Groups only an NSS module knows
// (LDAP, sssd) are not seen: the socket group is a local system group (groupadd --system).
import fs from 'node:fs/promises';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';

export const GROUP_FILE = '/etc/group';

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A gid_t is an unsigned 32-bit number; (gid_t)-1 means "no change" to chown(2), never a group. */
const MAX_GID = 2 ** 32 - 2;

/** The well-formed entries of an /etc/group text, in file order. */
export function parseGroupFile(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const fields = line.split(':');
    if (fields.length !== 4) continue;
    const [name, , gidText, users] = fields as [string, string, string, string];
    if (name === '' || !/^\d{1,10}$/.test(gidText)) continue;
    const gid = Number(gidText);
    if (gid > MAX_GID) continue;
    out.push({ name, gid, members: users === '' ? [] : users.split(',').filter((u) => u !== '') });
  }
  return out;
}

/**
 * The gid of group NAME (or NAME itself when it is a number, as chgrp(1) takes one), from FILE.
 * A group that is not there is an EpctlError naming the file and the fix (exit 64: it is the
 * agent's option that is wrong).
 */
export async function resolveGroup(name: string, file: string = GROUP_FILE): Promise<number> {
  if (/^\d{1,10}$/.test(name) && Number(name) <= MAX_GID) return Number(name);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new EpctlError(`socket group ${name}: ${file} cannot be read (${code}), so the group cannot be resolved`, {
      exitCode: EXIT.USAGE,
      hint: `give the group's number instead of its name, or leave out the socket group`,
      cause: e,
    });
  }
  const entry = parseGroupFile(text).find((g) => g.name === name);
  if (!entry)
    throw new EpctlError(`socket group ${name}: there is no such group in ${file}`, {
      exitCode: EXIT.USAGE,
      hint: `create it (groupadd --system ${name}) and add the users who may read the agent's status, or give another group`,
    });
  return entry.gid;
}
