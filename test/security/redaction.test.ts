import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { createLifecyclePublisher } from "../../shared/events/lifecyclePublisher";
import { LifecycleEventType } from "../../shared/events/lifecycleEventTypes";
import { redactSecrets } from "../../shared/errors/redactSecrets";
import { parseActivityFailure } from "../../shared/errors/parseActivityFailure";
import { AzureKeyCredential } from "@azure/eventgrid";
import { lifecycleSamples } from "../support/lifecycleEventSamples";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXBhcnQ";
const SIG = "Zm9yZ2VkU2lnbmF0dXJlMTIz%2B%2F%3D";

/** Every form a credential reaches our messages in: [what, text, the secret that must not survive]. */
const forms: [string, string, string][] = [
  ["SAS after ?", `https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=${SIG}`, SIG],
  ["SAS after &", `sp=r&sig=${SIG}&se=2030`, SIG],
  ["SAS beginning with sig=", `sig=${SIG}&sv=2022-11-02`, SIG],
  ["SAS after a space", `token was sig=${SIG} and more`, SIG],
  ["URL-encoded %26sig%3D", `https%3A%2F%2Fa%2Fb%3Fsv%3D1%26sig%3D${"Q2FmZUJhYmU"}%26se%3D2030`, "Q2FmZUJhYmU"],
  ["URL-encoded %3Fsig%3D", `u%3Fsig%3DQ2FmZUJhYmU2`, "Q2FmZUJhYmU2"],
  ["double-encoded %2526sig%253D", `u%253Fsv%253D1%2526sig%253DQ2FmZUJhYmU3`, "Q2FmZUJhYmU3"],
  ["JSON sig field", `{"sv":"2022","sig":"${SIG}","se":"2030"}`, SIG],
  ["JSON sig field with spaces", `{ "sig" : "${SIG}" }`, SIG],
  ["escaped JSON sig field (a message quoted in an audit record)", JSON.stringify({ message: `{"sig":"${SIG}"}` }), SIG],
  ["Bearer", `Authorization: Bearer ${JWT}`, JWT],
  ["lower-case bearer", `authorization: bearer abc.def-ghi_jkl`, "abc.def-ghi_jkl"],
  ["upper-case BEARER", `BEARER Opaque0paqueToken`, "Opaque0paqueToken"],
  ["bare JWT", `the token ${JWT} was refused`, JWT],
  ["bare JWT at the start", `${JWT}`, JWT],
  ["access_token in JSON", `{"token_type":"Bearer","access_token":"0paque-access-token-1","expires_in":3599}`, "0paque-access-token-1"],
  ["access_token in a form body", `grant_type=x&access_token=0paque-access-token-2&x=1`, "0paque-access-token-2"],
  ["refresh_token in JSON", `{"refresh_token":"0paque-refresh"}`, "0paque-refresh"],
  ["client_secret in a form body", `client_id=1&client_secret=s3cr3t-value&scope=x`, "s3cr3t-value"],
  ["Event Grid aeg-sas-key header", `aeg-sas-key: k3yValue==`, "k3yValue=="],
  ["Event Grid aeg-sas-token header", `aeg-sas-token: r=https%3A%2F%2Ft.eventgrid.azure.net%2Fapi%2Fevents&e=1%2F1%2F2030&s=Zm9yZ2Vk`, "Zm9yZ2Vk"],
  ["Event Grid aeg-sas-token header (its resource too)", `aeg-sas-token: r=https%3A%2F%2Ft.eventgrid.azure.net&e=1&s=Zm9yZ2Vk`, "e=1"],
  ["Event Grid aeg-sas-token in JSON", `{"aeg-sas-token":"r=x&e=y&s=Zm9yZ2VkMg"}`, "Zm9yZ2VkMg"],
  ["SharedAccessKey= in a connection string", `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=c2hhcmVka2V5PT0=;EntityPath=x`, "c2hhcmVka2V5PT0="],
  ["sharedAccessKey in JSON", `{"sharedAccessKey":"c2hhcmVka2V5Mg=="}`, "c2hhcmVka2V5Mg=="],
  ["AccountKey= in a connection string", `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=YWNjb3VudGtleQ==;EndpointSuffix=core.windows.net`, "YWNjb3VudGtleQ=="],
  ["SharedAccessSignature= in a connection string", `BlobEndpoint=https://a/;SharedAccessSignature=sv=1&sr=c&sp=r&sig=${SIG}`, "sr=c"],
  ["SharedAccessSignature authorization", `Authorization: SharedAccessSignature sr=x&sig=${SIG}&se=1&skn=RootKey`, "skn=RootKey"],
  ["storage SharedKey authorization", `Authorization: SharedKey account:c2hhcmVka2V5Mw==`, "c2hhcmVka2V5Mw=="],
  ["managed identity header", `X-IDENTITY-HEADER: 1d3nt1tyH3ader`, "1d3nt1tyH3ader"],
];

describe("redactSecrets: every form a credential takes in a service message", () => {
  it.each(forms)("%s", (_what, text, secret) => {
    const out = redactSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain("REDACTED");
  });

  it("keeps what is not a secret, so messages stay useful", () => {
    const text = 'Key "pay-1" version 0123 not found at https://contoso.managedhsm.azure.net/keys/pay-1 (sigma=3, design=ok, "signed": true)';
    expect(redactSecrets(text)).toBe(text);
  });
});

describe("lifecycle publisher: its log lines carry service messages, so they are redacted", () => {
  it("a failed publish whose service message quotes a SAS, a JWT and a topic key logs none of them", async () => {
    // The attack: a topic (or a proxy in front of it) answers with a message quoting credentials.
    const server = createServer((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "Boom", message: `failed for sig=${SIG} with bearer ${JWT} and aeg-sas-key: t0p1cK3y` } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const lines: string[] = [];
    try {
      const publisher = createLifecyclePublisher({
        endpoint: `http://127.0.0.1:${port}/api/events`,
        credential: new AzureKeyCredential("t0p1cK3y"),
        retry: { attempts: 1 },
        clientOptions: { allowInsecureConnection: true },
        log: (line) => lines.push(line),
      });
      const outcome = await publisher.publish({ type: LifecycleEventType.KeyRotationFailed, data: lifecycleSamples[LifecycleEventType.KeyRotationFailed] });
      expect(outcome.kind).toBe("failed");
      expect(lines.length).toBeGreaterThan(0);
      const logged = lines.join("\n");
      expect(logged).toContain("publish attempt 1/1 failed");
      for (const secret of [SIG, JWT, "t0p1cK3y"]) expect(logged).not.toContain(secret);
      if (outcome.kind === "failed") for (const secret of [SIG, JWT, "t0p1cK3y"]) expect(outcome.error).not.toContain(secret);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("activity failures: what orchestrations log, audit and publish", () => {
  it("an unexpected activity error quoting a SAS and a token reaches the orchestration redacted", () => {
    const unexpected = parseActivityFailure(new Error(`GET https://a.blob.core.windows.net/c?sig=${SIG} failed; {"access_token":"0paque-access-token-3"}`));
    const coded = parseActivityFailure(new Error(`[Unexpected] storage said: bearer ${JWT}`));
    for (const f of [unexpected, coded]) {
      for (const secret of [SIG, JWT, "0paque-access-token-3"]) expect(f.detail).not.toContain(secret);
      expect(f.detail).toContain("REDACTED");
    }
  });
});
