"""A second, independent client of the emulator: Debian's Azure SDK for Python (python3-azure).

Reads one JSON request on stdin, runs one scenario with the SDK's own clients (their own polling, challenge
handling and crypto), prints one JSON object of observations on stdout. The vitest file
test/emulator/pythonSdk.test.ts asserts on those observations and on the emulator's own records.

TLS trust: the emulator's CA via ``connection_verify``. Challenge-resource verification is off, as for the JS
clients: the emulator answers for managedhsm.azure.net on 127.0.0.1. Credentials: the SDK's own
ManagedIdentityCredential against the emulator's identity endpoint (App Service or the 2017-09-01 protocol,
chosen by the environment the test sets), or a credential that returns an emulator-minted token.
"""
import json
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.administration import KeyVaultAccessControlClient, KeyVaultBackupClient, KeyVaultPermission
from azure.keyvault.keys import KeyClient, KeyRotationLifetimeAction, KeyRotationPolicy, KeyRotationPolicyAction
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm, SignatureAlgorithm
import hashlib


class EmulatorTokenCredential:
    """Returns a token the emulator minted for one principal; refuses any other audience."""

    def __init__(self, token, audience):
        self._token = token
        self._audience = audience

    def get_token(self, *scopes, **kwargs):
        wanted = [s.rstrip("/").removesuffix("/.default").rstrip("/") for s in scopes]
        if wanted != [self._audience]:
            raise ValueError(f"this credential only holds a token for {self._audience}, not {scopes}")
        return AccessToken(self._token, int(time.time()) + 3000)


def status_of(error):
    return {"status": error.status_code, "code": error.error.code if error.error else None}


def client_kwargs(request):
    return {"connection_verify": request["caFile"], "verify_challenge_resource": False}


def scenario_keys(request, credential):
    keys = KeyClient(request["hsmUrl"], credential, **client_kwargs(request))
    out = {}
    rsa = keys.create_rsa_key("py-rsa", size=2048, hardware_protected=True, tags={"owner": "python"})
    ec = keys.create_ec_key("py-ec", curve="P-384", hardware_protected=True)
    oct_key = keys.create_oct_key("py-oct", size=256, hardware_protected=True)
    out["created"] = {k.name: {"kty": str(k.key_type), "id": k.id} for k in (rsa, ec, oct_key)}
    fetched = keys.get_key("py-rsa")
    out["get"] = {"id": fetched.id, "n_bytes": len(fetched.key.n), "tags": fetched.properties.tags}
    updated = keys.update_key_properties("py-rsa", tags={"owner": "python", "tier": "1"}, enabled=True)
    out["updatedTags"] = updated.properties.tags
    out["listed"] = sorted(p.name for p in keys.list_properties_of_keys())
    policy = keys.update_key_rotation_policy(
        "py-rsa",
        KeyRotationPolicy(),
        lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")],
        expires_in="P180D",
    )
    out["policyExpiresIn"] = policy.expires_in
    rotated = keys.rotate_key("py-rsa")
    out["rotatedVersionDiffers"] = rotated.properties.version != rsa.properties.version
    out["versions"] = len(list(keys.list_properties_of_key_versions("py-rsa")))
    out["randomBytes"] = len(keys.get_random_bytes(32))
    keys.begin_delete_key("py-ec").result()
    out["deleted"] = keys.get_deleted_key("py-ec").name
    out["recovered"] = keys.begin_recover_deleted_key("py-ec").result().name
    backup = keys.backup_key("py-oct")
    keys.begin_delete_key("py-oct").result()
    keys.purge_deleted_key("py-oct")
    try:
        keys.get_key("py-oct")
        out["afterPurge"] = "present"
    except HttpResponseError as e:
        out["afterPurge"] = status_of(e)
    out["restoredId"] = keys.restore_key_backup(backup).id
    try:
        keys.get_key("no-such-key")
    except HttpResponseError as e:
        out["missing"] = status_of(e)
    return out


def scenario_crypto(request, credential):
    keys = KeyClient(request["hsmUrl"], credential, **client_kwargs(request))
    out = {}
    digest = hashlib.sha256(b"payment batch 42").digest()
    rsa = keys.create_rsa_key("py-crypto-rsa", size=2048, hardware_protected=True)
    rsa_crypto = CryptographyClient(rsa, credential, **client_kwargs(request))
    for alg in (SignatureAlgorithm.rs256, SignatureAlgorithm.ps256):
        signed = rsa_crypto.sign(alg, digest)
        out[f"{alg.value}"] = {
            "verified": rsa_crypto.verify(alg, digest, signed.signature).is_valid,
            "tamperedVerified": rsa_crypto.verify(alg, hashlib.sha256(b"other").digest(), signed.signature).is_valid,
        }
    for curve, alg, hash_fn in (("P-256", SignatureAlgorithm.es256, hashlib.sha256), ("P-384", SignatureAlgorithm.es384, hashlib.sha384)):
        ec = keys.create_ec_key(f"py-crypto-ec-{curve[2:]}", curve=curve, hardware_protected=True)
        ec_crypto = CryptographyClient(ec, credential, **client_kwargs(request))
        d = hash_fn(b"payment batch 42").digest()
        signed = ec_crypto.sign(alg, d)
        out[alg.value] = {
            "signatureBytes": len(signed.signature),
            "verified": ec_crypto.verify(alg, d, signed.signature).is_valid,
            "tamperedVerified": ec_crypto.verify(alg, hash_fn(b"other").digest(), signed.signature).is_valid,
        }
    secret = b"a data key of 32 bytes for tests"
    encrypted = rsa_crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, secret)
    out["RSA-OAEP-256"] = rsa_crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, encrypted.ciphertext).plaintext == secret
    aes = keys.create_oct_key("py-crypto-aes", size=256, hardware_protected=True)
    aes_crypto = CryptographyClient(aes, credential, **client_kwargs(request))
    wrapped = aes_crypto.wrap_key(KeyWrapAlgorithm.aes_256, secret)
    out["A256KW"] = {"wrappedBytes": len(wrapped.encrypted_key), "roundTrip": aes_crypto.unwrap_key(KeyWrapAlgorithm.aes_256, wrapped.encrypted_key).key == secret}
    gcm = aes_crypto.encrypt(EncryptionAlgorithm.a256_gcm, secret, additional_authenticated_data=b"aad")
    out["A256GCM"] = {
        "ivBytes": len(gcm.iv or b""),
        "tagBytes": len(gcm.tag or b""),
        "roundTrip": aes_crypto.decrypt(
            EncryptionAlgorithm.a256_gcm, gcm.ciphertext, iv=gcm.iv, authentication_tag=gcm.tag, additional_authenticated_data=b"aad"
        ).plaintext
        == secret,
    }
    return out


def scenario_rbac(request, credential):
    admin = credential
    other = EmulatorTokenCredential(request["otherToken"], "https://managedhsm.azure.net")
    kw = client_kwargs(request)
    rbac = KeyVaultAccessControlClient(request["hsmUrl"], admin, **kw)
    keys = KeyClient(request["hsmUrl"], admin, **kw)
    out = {}
    definitions = {d.role_name: d for d in rbac.list_role_definitions("/")}
    out["builtIn"] = sorted(n for n in definitions if n.startswith("Managed HSM"))
    crypto_user = definitions["Managed HSM Crypto User"]
    signer = keys.create_ec_key("py-rbac-signer", curve="P-256", hardware_protected=True)
    keys.create_ec_key("py-rbac-other", curve="P-256", hardware_protected=True)
    other_crypto = CryptographyClient(signer.id, other, **kw)
    digest = hashlib.sha256(b"x").digest()
    try:
        other_crypto.sign(SignatureAlgorithm.es256, digest)
        out["signBeforeAssignment"] = "allowed"
    except HttpResponseError as e:
        out["signBeforeAssignment"] = status_of(e)
    assignment = rbac.create_role_assignment("/keys/py-rbac-signer", crypto_user.id, request["otherOid"])
    out["assignment"] = {"scope": assignment.properties.scope, "principal": assignment.properties.principal_id, "definition": assignment.properties.role_definition_id}
    out["gotAssignment"] = rbac.get_role_assignment("/keys/py-rbac-signer", assignment.name).name == assignment.name
    out["listedAssignment"] = any(a.name == assignment.name for a in rbac.list_role_assignments("/keys/py-rbac-signer"))
    out["signAfterAssignment"] = len(CryptographyClient(signer.id, other, **kw).sign(SignatureAlgorithm.es256, digest).signature)
    try:
        KeyClient(request["hsmUrl"], other, **kw).get_key("py-rbac-other")
        out["otherKey"] = "allowed"
    except HttpResponseError as e:
        out["otherKey"] = status_of(e)
    rbac.delete_role_assignment("/keys/py-rbac-signer", assignment.name)
    try:
        CryptographyClient(signer.id, other, **kw).sign(SignatureAlgorithm.es256, digest)
        out["signAfterDeletion"] = "allowed"
    except HttpResponseError as e:
        out["signAfterDeletion"] = status_of(e)
    custom = rbac.set_role_definition(
        "/",
        role_name="Python signer (custom)",
        description="sign only",
        permissions=[KeyVaultPermission(data_actions=["Microsoft.KeyVault/managedHsm/keys/sign/action"])],
    )
    out["custom"] = {"name": rbac.get_role_definition("/", custom.name).role_name, "dataActions": [str(a) for a in custom.permissions[0].data_actions]}
    rbac.delete_role_definition("/", custom.name)
    out["customAfterDeletion"] = any(d.name == custom.name for d in rbac.list_role_definitions("/"))
    return out


def scenario_backup(request, credential):
    kw = client_kwargs(request)
    keys = KeyClient(request["hsmUrl"], credential, **kw)
    backup_client = KeyVaultBackupClient(request["hsmUrl"], credential, **kw)
    # The SDK's own polling, interval included (5 s unless the service's Retry-After says otherwise).
    out = {}
    full = keys.create_rsa_key("py-bk-full", size=2048, hardware_protected=True)
    single = keys.create_ec_key("py-bk-single", curve="P-256", hardware_protected=True)
    poller = backup_client.begin_backup(request["containerUrl"], request["sas"])
    result = poller.result()
    out["backupStatus"] = poller.status()
    out["folderUrl"] = result.folder_url
    for name in ("py-bk-full", "py-bk-single"):
        keys.begin_delete_key(name).result()
        keys.purge_deleted_key(name)
    restore = backup_client.begin_restore(result.folder_url, request["sas"])
    restore.wait()
    out["restoreStatus"] = restore.status()
    out["afterFullRestore"] = {"full": keys.get_key("py-bk-full").id == full.id, "single": keys.get_key("py-bk-single").id == single.id}
    keys.begin_delete_key("py-bk-single").result()
    keys.purge_deleted_key("py-bk-single")
    selective = backup_client.begin_restore(result.folder_url, request["sas"], key_name="py-bk-single")
    selective.wait()
    out["selectiveStatus"] = selective.status()
    out["afterSelectiveRestore"] = keys.get_key("py-bk-single").id == single.id
    # Again, now that the key exists: the service succeeds and keeps the versions the key has.
    again = backup_client.begin_restore(result.folder_url, request["sas"], key_name="py-bk-single")
    again.wait()
    out["selectiveExistingStatus"] = again.status()
    bad = backup_client.begin_restore(result.folder_url.rsplit("/", 1)[0] + "/mhsm-nothere-2020010100000000", request["sas"])
    try:
        bad.wait()
        out["missingFolder"] = bad.status()
    except HttpResponseError as e:
        out["missingFolder"] = {"status": bad.status(), "message": str(e.message)}
    return out


SCENARIOS = {"keys": scenario_keys, "crypto": scenario_crypto, "rbac": scenario_rbac, "backup": scenario_backup}


def main():
    request = json.load(sys.stdin)
    if request.get("credential") == "managed-identity":
        credential = ManagedIdentityCredential(client_id=request["clientId"])
    else:
        credential = EmulatorTokenCredential(request["token"], "https://managedhsm.azure.net")
    print(json.dumps(SCENARIOS[request["scenario"]](request, credential)))


if __name__ == "__main__":
    main()
