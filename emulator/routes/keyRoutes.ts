/**
 * Keys data plane: create/import/get/list/update/delete, deleted keys, recover/purge, rotate,
 * rotation policy, single-key backup/restore, random bytes. Each handler authorizes first, validates,
 * mutates, commits (durable before the answer), then answers with the service's exact status.
 */
import { randomBytes } from "node:crypto";
import { openKeyBackup, sealKeyBackup } from "../crypto/keyBackupBlob";
import { keyVaultErrors } from "../errors";
import { pageOf } from "../http/paging";
import type { RequestContext } from "../http/requestContext";
import type { RouteTable } from "../http/routes";
import { deletedKeyBundle, deletedKeyItem, keyBundle, keyItem, kidOf, rotationPolicyBody } from "../keys/keyBundle";
import { latestVersion } from "../keys/keyModel";
import { attestationFor, releaseKey } from "../keys/keyRelease";
import { validateKeyName } from "../keys/keyStore";

const name = (ctx: RequestContext): string => ctx.params["name"] ?? "";
const keyScope = (ctx: RequestContext): string => `/keys/${name(ctx)}`;

function bundleFor(ctx: RequestContext, keyName: string, version?: string): Record<string, unknown> {
  const { key, version: v } = ctx.instance.keys.get(keyName, version);
  ctx.auditId = kidOf(ctx.baseUrl, key.name, v.version);
  return keyBundle(ctx.instance, ctx.baseUrl, key, v);
}

export function registerKeyRoutes(table: RouteTable): void {
  table.add({
    method: "POST",
    pattern: "/keys/restore",
    operationName: "KeyRestore",
    handler: async (ctx) => {
      ctx.authorize("keys/restore/action", "/keys");
      const value = (ctx.body as { value?: unknown } | undefined)?.value;
      if (typeof value !== "string" || value === "") throw keyVaultErrors.badParameter("The request body must be {\"value\": \"<backup blob>\"}.");
      const payload = openKeyBackup(value, ctx.instance.keyBackupSecret);
      const key = ctx.instance.keys.restorePayload(payload);
      await ctx.instance.commit();
      return ctx.json(200, bundleFor(ctx, key.name));
    },
  });

  table.add({
    method: "GET",
    pattern: "/keys",
    operationName: "KeyList",
    handler: (ctx) => {
      ctx.authorize("keys/read/action", "/keys");
      const items = ctx.instance.keys.list().map((k) => keyItem(ctx.instance, ctx.baseUrl, k, latestVersion(k), false));
      return ctx.json(200, pageOf(ctx, "/keys", items));
    },
  });

  table.add({
    method: "POST",
    pattern: "/keys/:name/create",
    operationName: "KeyCreate",
    handler: async (ctx) => {
      validateKeyName(name(ctx));
      ctx.authorize("keys/create", keyScope(ctx), "Microsoft.KeyVault/vaults/keys/create/action");
      const v = await ctx.instance.keys.create(name(ctx), ctx.body);
      await ctx.instance.commit();
      return ctx.json(200, bundleFor(ctx, name(ctx), v.version));
    },
  });

  table.add({
    method: "PUT",
    pattern: "/keys/:name",
    operationName: "KeyImport",
    handler: async (ctx) => {
      validateKeyName(name(ctx));
      ctx.authorize("keys/import/action", keyScope(ctx));
      const v = ctx.instance.keys.import(name(ctx), ctx.body);
      await ctx.instance.commit();
      return ctx.json(200, bundleFor(ctx, name(ctx), v.version));
    },
  });

  table.add({
    method: "DELETE",
    pattern: "/keys/:name",
    operationName: "KeyDelete",
    handler: async (ctx) => {
      ctx.authorize("keys/delete", keyScope(ctx));
      const d = ctx.instance.keys.delete(name(ctx));
      await ctx.instance.commit();
      ctx.auditId = kidOf(ctx.baseUrl, name(ctx));
      return ctx.json(200, deletedKeyBundle(ctx.instance, ctx.baseUrl, d));
    },
  });

  table.add({
    method: "GET",
    pattern: "/keys/:name/versions",
    operationName: "KeyListVersions",
    handler: (ctx) => {
      ctx.authorize("keys/read/action", keyScope(ctx));
      const { key } = ctx.instance.keys.get(name(ctx));
      const items = key.versions.map((v) => keyItem(ctx.instance, ctx.baseUrl, key, v, true));
      return ctx.json(200, pageOf(ctx, `/keys/${key.name}/versions`, items));
    },
  });

  table.add({
    method: "POST",
    pattern: "/keys/:name/rotate",
    operationName: "KeyRotate",
    handler: async (ctx) => {
      ctx.authorize("keys/rotate/action", keyScope(ctx));
      const v = await ctx.instance.keys.rotateOnDemand(name(ctx));
      await ctx.instance.commit();
      return ctx.json(200, bundleFor(ctx, name(ctx), v.version));
    },
  });

  table.add({
    method: "GET",
    pattern: "/keys/:name/rotationpolicy",
    operationName: "KeyRotationPolicyGet",
    handler: (ctx) => {
      ctx.authorize("keys/read/action", keyScope(ctx), "Microsoft.KeyVault/vaults/keyrotationpolicies/read");
      ctx.instance.keys.getPolicy(name(ctx));
      const { key } = ctx.instance.keys.get(name(ctx));
      return ctx.json(200, rotationPolicyBody(ctx.instance, ctx.baseUrl, key));
    },
  });

  table.add({
    method: "PUT",
    pattern: "/keys/:name/rotationpolicy",
    operationName: "KeyRotationPolicySet",
    handler: async (ctx) => {
      ctx.authorize("keys/write/action", keyScope(ctx), "Microsoft.KeyVault/vaults/keyrotationpolicies/write");
      ctx.instance.keys.setPolicy(name(ctx), ctx.body);
      await ctx.instance.commit();
      const { key } = ctx.instance.keys.get(name(ctx));
      return ctx.json(200, rotationPolicyBody(ctx.instance, ctx.baseUrl, key));
    },
  });

  table.add({
    method: "POST",
    pattern: "/keys/:name/backup",
    operationName: "KeyBackup",
    handler: (ctx) => {
      ctx.authorize("keys/backup/action", keyScope(ctx));
      const payload = ctx.instance.keys.backupPayload(name(ctx));
      ctx.auditId = kidOf(ctx.baseUrl, name(ctx));
      return ctx.json(200, { value: sealKeyBackup(payload, ctx.instance.keyBackupSecret) });
    },
  });

  for (const pattern of ["/keys/:name/attestation", "/keys/:name/:version/attestation"]) {
    table.add({
      method: "GET",
      pattern,
      operationName: "KeyGetAttestation",
      kinds: ["managedHsm"],
      handler: (ctx) => {
        ctx.authorize("keys/read/action", keyScope(ctx));
        const bundle = bundleFor(ctx, name(ctx), ctx.params["version"]);
        const { version: v } = ctx.instance.keys.get(name(ctx), ctx.params["version"]);
        (bundle["attributes"] as Record<string, unknown>)["attestation"] = attestationFor(ctx.auditId ?? "", v, ctx.services.caPem);
        return ctx.json(200, bundle);
      },
    });
  }

  for (const pattern of ["/keys/:name/release", "/keys/:name/:version/release"]) {
    table.add({
      method: "POST",
      pattern,
      operationName: "KeyRelease",
      handler: async (ctx) => {
        ctx.authorize("keys/release/action", keyScope(ctx));
        const { key, version: v } = ctx.instance.keys.get(name(ctx), ctx.params["version"]);
        const kid = kidOf(ctx.baseUrl, key.name, v.version);
        ctx.auditId = kid;
        return ctx.json(200, await releaseKey({ kid, version: v, body: ctx.body, apiVersion: ctx.apiVersion, signingSecret: ctx.instance.keyBackupSecret }));
      },
    });
  }

  for (const pattern of ["/keys/:name/:version", "/keys/:name"]) {
    table.add({
      method: "GET",
      pattern,
      operationName: "KeyGet",
      handler: (ctx) => {
        ctx.authorize("keys/read/action", keyScope(ctx));
        return ctx.json(200, bundleFor(ctx, name(ctx), ctx.params["version"]));
      },
    });
    table.add({
      method: "PATCH",
      pattern,
      operationName: "KeyUpdate",
      handler: async (ctx) => {
        ctx.authorize("keys/write/action", keyScope(ctx));
        const v = ctx.instance.keys.update(name(ctx), ctx.params["version"], ctx.body);
        await ctx.instance.commit();
        return ctx.json(200, bundleFor(ctx, name(ctx), v.version));
      },
    });
  }

  table.add({
    method: "GET",
    pattern: "/deletedkeys",
    operationName: "KeyListDeleted",
    handler: (ctx) => {
      ctx.authorize("keys/deletedKeys/read/action", "/keys");
      const items = ctx.instance.keys.listDeleted().map((d) => deletedKeyItem(ctx.instance, ctx.baseUrl, d));
      return ctx.json(200, pageOf(ctx, "/deletedkeys", items));
    },
  });

  table.add({
    method: "GET",
    pattern: "/deletedkeys/:name",
    operationName: "KeyGetDeleted",
    handler: (ctx) => {
      ctx.authorize("keys/deletedKeys/read/action", keyScope(ctx));
      return ctx.json(200, deletedKeyBundle(ctx.instance, ctx.baseUrl, ctx.instance.keys.getDeleted(name(ctx))));
    },
  });

  table.add({
    method: "DELETE",
    pattern: "/deletedkeys/:name",
    operationName: "KeyPurge",
    handler: async (ctx) => {
      ctx.authorize("keys/deletedKeys/delete", keyScope(ctx));
      ctx.instance.keys.purge(name(ctx));
      await ctx.instance.commit();
      ctx.auditId = `${ctx.baseUrl}/deletedkeys/${name(ctx)}`;
      return ctx.empty(204);
    },
  });

  table.add({
    method: "POST",
    pattern: "/deletedkeys/:name/recover",
    operationName: "KeyRecover",
    handler: async (ctx) => {
      ctx.authorize("keys/deletedKeys/recover/action", keyScope(ctx));
      ctx.instance.keys.recover(name(ctx));
      await ctx.instance.commit();
      return ctx.json(200, bundleFor(ctx, name(ctx)));
    },
  });

  table.add({
    method: "POST",
    pattern: "/rng",
    operationName: "GetRandomBytes",
    kinds: ["managedHsm"],
    handler: (ctx) => {
      ctx.authorize("rng/action", "/");
      const count = (ctx.body as { count?: unknown } | undefined)?.count;
      if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 128) {
        throw keyVaultErrors.badParameter("GetRandomBytesRequest: count cannot be greater than 128 or less than 1");
      }
      return ctx.json(200, { value: randomBytes(count).toString("base64url") });
    },
  });
}
