/** README's identities table is exactly what `rbac plan` assigns (one drill pair, one vault, every identity). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stackRbacPlan } from "../../dev/stackIdentities";
import { identitiesTable } from "../support/identitiesTable";

describe("README identities table", () => {
  it("matches rbac plan", () => {
    const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
    const table = identitiesTable(stackRbacPlan({ primary: "primary", dr: "dr", vault: "app" }));
    expect(readme, `README.md must contain, under "Identities and least privilege":\n${table}`).toContain(table);
  });
});
