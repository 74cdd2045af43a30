/** The usage text; printed for --help and with every usage error. */
export const USAGE = `Usage: hsm-lifecycle <command> [options]

Commands:
  status                      keys due per instance, keys nobody rotates, last verified backup per HSM,
                              last drill, RPO now, what needs attention
      --check                 for monitoring: exit 1 when anything needs attention
  plan                        dry run of rotation, backup retention and drill (changes nothing)
  rotate                      start rotations through the function app and wait for them
      --instance NAME         only this HSM or vault (per-key rotations instead of a full sweep)
      --key NAME              only this key (needs --instance when the name is on several instances)
      --dry-run               show what would rotate and why; start nothing
      --now                   emergency rotation of --instance/--key, due or not, once approved (exit 3
                              while it waits); needs --reason compromise|policy|other and --ticket ID
  recover                     bring back a deleted or purged key of a primary HSM, once approved (exit 3 while
                              it waits): a soft-deleted key is recovered, a purged one restored with all its
                              versions from the newest verified backup that holds it; then verified
      --instance NAME         the primary HSM
      --key NAME              the key
      --backup FOLDER         restore from this backup folder (a verified backup holding the key)
      --reason TEXT           why (default "key recovery"); --ticket ID the change or incident id
  disable                     disable one superseded key version early, once approved (exit 3 while it waits);
                              never the current version; read back to confirm enabled: false
      --instance NAME         the HSM or vault
      --key NAME              the key
      --version V             the version to disable (not the key's current one)
      --reason TEXT           why; --ticket ID the change or incident id (both required)
  requests                    dual-control requests and their status (--json: an array)
  approve ID                  approve a request (as yourself: --credential default; local stack: --as OID)
  reject ID --reason TEXT     reject a request
  backup                      start a full backup of each primary HSM and wait for it
      --hsm NAME              only this HSM
  drill                       start a restore drill and wait for its verdict
      --pair PRIMARY=TARGET   the drill pair (default: the only configured pair)
      --mode full|selective   default full
      --key NAME              the key restored by a selective drill
  report                      print a drill report's summary (verdict, RTO, RPO, checks; --json: JSON)
      --latest                the newest report (default)
      --drill ID              the report of this drill id
      --html FILE             also write the HTML report to FILE
  rbac plan                   the role definitions and assignments every configured HSM and vault needs
  rbac apply                  make them so (administrator's credential); prints the diff first
      --dry-run               print the diff only; change nothing
  rbac check                  read only: missing, extra and over-broad assignments of our identities, and
                              any other principal holding restore, purge or role-write; exit 1 on drift
  evidence                    the audit evidence pack, sealed by the HSM key evidence-signing
      --out DIR               writes evidence.json, evidence.html, evidence.sig, signing-key.pem
      --from ISO, --to ISO    the period (default: the 90 days up to now)
  evidence verify DIR         offline: exit 0 when the pack is intact, 1 when any byte changed
  dr download                 download an HSM's security domain for its custodians (run as you)
      --hsm NAME              the HSM (from HSMS)
      --cert FILE             a custodian's PEM certificate (RSA ≥ 2048); give 3 to 10
      --quorum N              custodian keys needed to recover it (2 to 10)
      --out FILE              where to write the security domain file (never overwritten)
  dr activate                 activate a NEW HSM in recovery mode with a downloaded security domain (run as you)
      --hsm NAME              the new HSM (from HSMS)
      --security-domain FILE  the downloaded security domain file
      --key FILE              a custodian's unencrypted PEM private key; give a quorum (used in memory only)

Options for every command:
  --settings FILE             app settings from a local.settings.json-style file ({"Values":{…}});
                              default: the environment (as in the function app)
  --credential KIND           managed-identity (default: each workflow's identity, as the app runs)
                              or default (DefaultAzureCredential: az login, environment, …);
                              dr commands always run as default (they need Managed HSM Administrator)
  --app-url URL               the function app (rotate/backup/drill); default http://127.0.0.1:7071.
                              Azure: function keys only, never the master key:
                              HSM_LIFECYCLE_FUNCTION_KEY_<FUNCTION> per function (ROTATIONHTTP,
                              BACKUPHTTP, DRILLHTTP, RUNSTATUSHTTP) or one app key in
                              HSM_LIFECYCLE_FUNCTION_KEY
  --at ISO                    decide as of this instant (status/plan; default now)
  --timeout SECONDS           how long rotate/backup/drill wait for the outcome (default 3600; dr: 600)
  --json                      machine output (one JSON document on stdout)
  -h, --help                  this text

Exit codes: 0 success, 1 the work failed (or a check failed), 2 usage error.
`;
