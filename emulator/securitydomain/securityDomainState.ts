/**
 * The security-domain lifecycle state of one HSM, persisted in DIR/instances/NAME/security-domain.json:
 * whether it is activated, and the last download and upload operation (what the `pending` endpoints report).
 *
 * An HSM started with `--hsm NAME=PORT,recovery` begins NOT activated, as a newly created Managed HSM does: it
 * refuses every data-plane call until it is activated, either by downloading its security domain (it keeps the
 * domain it was created with) or by uploading another HSM's (it takes that domain: the DR procedure).
 * Every other HSM is activated from the start. Once written, the file decides (the flag matters on first start).
 */
import { join } from "node:path";
import type { Instance } from "../instance";
import { AtomicJsonFile } from "../store/atomicJsonFile";

export type SecurityDomainOperationStatus = "Success" | "InProgress" | "Failed";

export interface SecurityDomainOperation {
  status: SecurityDomainOperationStatus;
  status_details: string;
}

interface PersistedSecurityDomainState {
  activated: boolean;
  download: SecurityDomainOperation | null;
  upload: SecurityDomainOperation | null;
}

export class SecurityDomainState {
  private state: PersistedSecurityDomainState;
  private readonly file: AtomicJsonFile<PersistedSecurityDomainState>;

  constructor(
    private readonly instance: Instance,
    recovery: boolean,
  ) {
    this.file = new AtomicJsonFile(join(instance.dataDir, "security-domain.json"), () => this.state);
    const loaded = this.file.read();
    this.state = loaded ?? { activated: !recovery, download: null, upload: null };
    instance.activated = this.state.activated;
  }

  get download(): SecurityDomainOperation | null {
    return this.state.download;
  }

  get upload(): SecurityDomainOperation | null {
    return this.state.upload;
  }

  async record(kind: "download" | "upload", op: SecurityDomainOperation, activate: boolean): Promise<void> {
    this.state = { ...this.state, [kind]: op, activated: this.state.activated || activate };
    this.instance.activated = this.state.activated;
    await this.file.save();
  }
}

const states = new WeakMap<Instance, SecurityDomainState>();

/** Loads (or starts) the lifecycle state of an HSM; called once per HSM when the emulator starts. */
export function initSecurityDomainState(instance: Instance, recovery: boolean): SecurityDomainState {
  const s = new SecurityDomainState(instance, recovery);
  states.set(instance, s);
  return s;
}

export function securityDomainStateOf(instance: Instance): SecurityDomainState {
  return states.get(instance) ?? initSecurityDomainState(instance, false);
}
