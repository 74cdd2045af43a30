/**
 * The rotation workflow's deps, built once per worker from the app settings and the rotation identity, on first
 * use (a settings problem then fails that invocation, not the app's load). Shared by the rotation and the
 * dual-control registrations: both act as the rotation identity.
 */
import { appSettings } from "../../app/appSettings";
import { credentialFor } from "../../hsm/workloadCredential";
import { principalIdOf } from "../../hsm/principalIdOf";
import { blobServiceClientFor } from "../../storage/blobServiceClientFor";
import type { RotationDeps } from "./deps";
import { createRotationDeps } from "./depsFromSettings";
import { pacerFromSettings } from "./pacerFromSettings";
import { versionRecordsFromSettings } from "./versionRecordsFromSettings";
import type { RotationAuditDeps } from "./recordOutcome";

let rotationDeps: RotationDeps | undefined;

export function rotationWorkflowDeps(): RotationDeps {
  if (rotationDeps !== undefined) return rotationDeps;
  const settings = appSettings();
  const credential = credentialFor("rotation", settings);
  const built: RotationDeps = { ...createRotationDeps(settings, credential), createPacer: pacerFromSettings(settings, credential) };
  const versionRecords = versionRecordsFromSettings(settings, credential);
  if (versionRecords !== undefined) built.versionRecords = versionRecords;
  rotationDeps = built;
  return rotationDeps;
}

let auditDeps: RotationAuditDeps | undefined;

export function rotationAuditDeps(): RotationAuditDeps {
  if (auditDeps !== undefined) return auditDeps;
  const settings = appSettings();
  const credential = credentialFor("rotation", settings);
  const built: RotationAuditDeps = {
    // Few tries: the audit write is best effort and must not hold a rotation for minutes.
    auditContainer: blobServiceClientFor(settings.storage, credential, { retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 30_000 } }).getContainerClient(settings.storage.auditContainer),
    now: () => new Date(),
    principalId: () => principalIdOf(credential),
  };
  const publisher = rotationWorkflowDeps().publisher;
  if (publisher !== undefined) built.publisher = publisher;
  auditDeps = built;
  return auditDeps;
}
