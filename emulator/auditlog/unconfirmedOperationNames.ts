/**
 * The Managed HSM audit `operationName` values the emulator writes that no Microsoft source confirms, each with the
 * operation it stands for. A detection that filters on one of these may miss on a real HSM until its logs confirm it.
 *
 * What Microsoft publishes (checked against each source):
 * - "Managed HSM logging" (learn.microsoft.com/azure/key-vault/managed-hsm/logging): its sample entry is a full backup
 *   request logged as `BackupCreate` (HTTP 202, requestUri …/backup). Its "What's logged" list says security domain
 *   download and upload, full backup, restore and selective restore, and role management are logged, without naming
 *   them.
 * - "Azure Key Vault logging" (learn.microsoft.com/azure/key-vault/general/logging), the operation names table: the
 *   `Key…` names (KeyCreate, KeyRestore for a single key from its backup blob, KeyPurge, …) and `Authentication`. No
 *   full backup, restore, security domain or role names.
 * - "Monitor Azure Managed HSM" (its KQL samples filter on ResourceType == "MANAGEDHSMS", no operation names) and the
 *   Azure-Sentinel "Azure Key Vault" solution (its rules read ResourceType "VAULTS" and Vault/Key/Secret names only).
 * - azure-rest-api-specs, Key Vault data plane: the REST operation ids (FullBackup, FullRestoreOperation,
 *   SelectiveKeyRestoreOperation, HSMSecurityDomain Download/Upload and their "Pending" status reads) are API names,
 *   not log names: the service logs the REST CreateKey as KeyCreate, so they do not settle what the log says.
 * `BackupCreate`, `Authentication` and the Key Vault table's `Key…` names (KeyRotate, KeyRotationPolicyGet/Set included)
 * are therefore the confirmed ones; the rest are the emulator's reading, in the service's ObjectVerb style, to be
 * checked against a real HSM's AuditEvent. test/emulator/auditOperationNames.test.ts keeps every name the emulator
 * writes in one list or the other.
 */
export const UNCONFIRMED_OPERATION_NAMES: ReadonlyMap<string, string> = new Map([
  ["PreBackup", "POST /prebackup (pre-backup check)"],
  ["BackupStatus", "GET /backup/{jobId}/pending (full backup and pre-backup status)"],
  ["Restore", "PUT /restore (full restore)"],
  ["PreRestore", "PUT /prerestore (pre-restore check)"],
  ["SelectiveKeyRestore", "PUT /keys/{name}/restore (selective key restore from a full backup)"],
  ["RestoreStatus", "GET /restore/{jobId}/pending (full, pre- and selective restore status)"],
  ["SecurityDomainDownload", "POST /securitydomain/download"],
  ["SecurityDomainDownloadStatus", "GET /securitydomain/download/pending"],
  ["SecurityDomainTransferKey", "GET /securitydomain/upload (the exchange key)"],
  ["SecurityDomainUpload", "POST /securitydomain/upload"],
  ["SecurityDomainUploadStatus", "GET /securitydomain/upload/pending"],
  ["RoleAssignmentCreate", "PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}"],
  ["RoleAssignmentGet", "GET {scope}/providers/Microsoft.Authorization/roleAssignments/{name}"],
  ["RoleAssignmentDelete", "DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}"],
  ["RoleAssignmentList", "GET {scope}/providers/Microsoft.Authorization/roleAssignments"],
  ["RoleDefinitionCreate", "PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}"],
  ["RoleDefinitionGet", "GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}"],
  ["RoleDefinitionDelete", "DELETE {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}"],
  ["RoleDefinitionList", "GET {scope}/providers/Microsoft.Authorization/roleDefinitions"],
  ["KeyGetAttestation", "GET /keys/{name}[/{version}]/attestation"],
  ["KeyRelease", "POST /keys/{name}[/{version}]/release"],
  ["GetRandomBytes", "POST /rng"],
]);
