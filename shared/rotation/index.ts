/**
 * The pure, deterministic part of rotation: safe to import from orchestrations (no SDK, no node:*, no
 * settings, no clock). The loaders (`checkRotationPolicy` with ajv, `readRotationPolicyFile` with fs) are
 * imported by path from activities only.
 */
export * from "./isoDuration";
export * from "./keyListing";
export * from "./policyTypes";
export * from "./selectRule";
export * from "./decideRotation";
export * from "./decideRetirement";
export * from "./rotationIds";
export * from "./batches";
export * from "./serviceLimits";
export * from "./planRotation";
