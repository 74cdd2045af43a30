/** BACKUP_MANIFEST_KEY for tests that build backup/drill deps by hand (32 fixed bytes; never a real key). */
export const TEST_MANIFEST_KEY = Buffer.alloc(32, 7).toString("base64");
