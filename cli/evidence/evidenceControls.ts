/**
 * What each answer of the evidence pack proves, in the auditors' own terms: PCI DSS v4.0 requirements 3.6 (keys
 * protected) and 3.7 (key-management processes: generation, distribution, storage, cryptoperiod changes, retirement,
 * split knowledge / dual control), NIST SP 800-57 Part 1 Rev. 5 §5.3 (cryptoperiods) and the RBI's requirement
 * (Master Direction on IT Governance, Risk, Controls and Assurance Practices, 2023: BCP/DR) that DR drills are
 * run and their recovery objectives shown. `evidence` is the JSON path in evidence.json that answers it.
 */
export interface ControlMapping {
  framework: string;
  control: string;
  requirement: string;
  evidence: string[];
}

export const CONTROL_MAPPINGS: readonly ControlMapping[] = [
  { framework: "PCI DSS v4.0", control: "3.6.1", requirement: "Keys are protected: access restricted to the fewest custodians; key-encrypting keys stored in a secure cryptographic device.", evidence: ["access", "keys"] },
  { framework: "PCI DSS v4.0", control: "3.6.1.2", requirement: "Secret and private keys are stored in a secure cryptographic device (the Managed HSM); no key material in logs or reports.", evidence: ["keys", "exposureScan"] },
  { framework: "PCI DSS v4.0", control: "3.7.1", requirement: "Generation of strong keys (in the HSM, by rotation).", evidence: ["keys[].lastRotation"] },
  { framework: "PCI DSS v4.0", control: "3.7.4", requirement: "Key changes at the end of the defined cryptoperiod.", evidence: ["keys[].cryptoperiod", "keys[].pastCryptoperiod"] },
  { framework: "PCI DSS v4.0", control: "3.7.5", requirement: "Retirement or replacement of keys whose integrity is weakened or at the end of their cryptoperiod; retired keys not used for encryption.", evidence: ["keys[].lastRotation", "destructiveActions"] },
  { framework: "PCI DSS v4.0", control: "3.7.6", requirement: "Split knowledge and dual control for manual clear-text key-management operations.", evidence: ["destructiveActions[].requester", "destructiveActions[].approvers"] },
  { framework: "PCI DSS v4.0", control: "3.7.7", requirement: "Prevention of unauthorised substitution of keys.", evidence: ["access[].drift", "keys[].lastVerification"] },
  { framework: "PCI DSS v4.0", control: "10.5.1", requirement: "Audit log history retained for at least 12 months, three months immediately available.", evidence: ["logRetention"] },
  { framework: "NIST SP 800-57 Part 1 Rev. 5", control: "5.3", requirement: "Each key has a cryptoperiod and is replaced before it ends.", evidence: ["keys[].cryptoperiod", "keys[].cryptoperiodEndsOn", "keys[].pastCryptoperiod"] },
  { framework: "NIST SP 800-57 Part 1 Rev. 5", control: "8.2.2 / 6.2.2", requirement: "Keys are backed up and recoverable (backup of keying material).", evidence: ["backups"] },
  { framework: "RBI IT Governance Direction 2023", control: "BCP/DR drills", requirement: "DR drills are conducted regularly and RTO/RPO are measured against targets; failures are recorded.", evidence: ["drills", "failures"] },
];
