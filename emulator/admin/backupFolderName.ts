/**
 * Backup folder names as Managed HSM writes them: `mhsm-{hsmName}-{yyyyMMddHHmmss}{hundredths}` in UTC at the
 * time the backup request was received (the docs show 14 digits; real folders carry 2 more, e.g.
 * `mhsm-contoso-2020090117323313`).
 */
export const BACKUP_FOLDER_PATTERN = /^mhsm-[A-Za-z0-9_-]+-\d{14}(\d{2})?$/;

export function backupFolderName(hsmName: string, at: Date): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  const stamp =
    pad(at.getUTCFullYear(), 4) +
    pad(at.getUTCMonth() + 1) +
    pad(at.getUTCDate()) +
    pad(at.getUTCHours()) +
    pad(at.getUTCMinutes()) +
    pad(at.getUTCSeconds()) +
    pad(Math.floor(at.getUTCMilliseconds() / 10));
  return `mhsm-${hsmName}-${stamp}`;
}
