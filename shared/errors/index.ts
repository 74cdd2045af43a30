export { type ErrorCode, retryableByCode, errorCodes, isErrorCode } from "./errorCode";
export { LifecycleError, formatFailureMessage, isLifecycleError } from "./lifecycleError";
export { fromRestError, toLifecycleError, isRestErrorLike, type FailureContext, type RoleName, type ServiceKind } from "./fromRestError";
export { parseActivityFailure, type ActivityFailure } from "./parseActivityFailure";
export { redactSecrets } from "./redactSecrets";
export { lifecycleExceptionProperties } from "./lifecycleExceptionProperties";
export { type PermanentFailure, isPermanentFailure, permanentFailureOf, returningPermanentFailures, throwPermanentFailure } from "./permanentFailure";
