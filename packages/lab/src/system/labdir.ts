import { lstatSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LabError } from '../errors.ts';

/**
 * Refuses a lab directory the devices could not use, before anything changes on the machine:
 * - sshd's StrictModes (auth2-pubkeyfile.c, `secure_path`) refuses the principals files unless every
 *   directory above them is owned by root and writable by no one else: a directory under /tmp (1777)
 *   or under a group-writable home would make every certificate login fail with "refused";
 * - the device accounts run the validator from `<dir>/bin` and read its configuration: every directory
 *   above must be traversable by others (o+x), which a 0700 `mktemp -d` folder or a 0750 home is not.
 * Returns the absolute path.
 */
export function checkLabDir(dir: string): string {
  // Resolved once here, so that `down` from another working directory finds the same lab.
  const abs = resolve(dir);
  try {
    const st = lstatSync(abs);
    if (!st.isDirectory())
      throw new LabError('ERR_LAB_DIR', `lab directory ${abs} exists and is not a directory`);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  for (let d = dirname(abs); ; d = dirname(d)) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(d);
    } catch {
      st = undefined;
    }
    if (st !== undefined) {
      if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
        throw new LabError(
          'ERR_LAB_DIR',
          `lab directory ${abs} is unusable: ${d} is ${st.uid !== 0 ? `owned by uid ${st.uid}` : `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'}`}, and sshd refuses certificates whose principals file lies below such a directory (StrictModes); use a directory under a root-owned, non-writable parent such as /var/lib`,
        );
      }
      if ((st.mode & 0o001) === 0) {
        throw new LabError(
          'ERR_LAB_DIR',
          `lab directory ${abs} is unusable: ${d} (mode ${(st.mode & 0o777).toString(8)}) cannot be traversed by the device accounts that run the validator from it; use a directory under a parent with o+x, such as /var/lib`,
        );
      }
    }
    if (d === dirname(d)) break;
  }
  return abs;
}
