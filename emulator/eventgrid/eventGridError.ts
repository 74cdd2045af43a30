/**
 * The Event Grid data plane's error shape: `{"error":{"code","message","details":[{"code","message"}]}}`.
 * The top-level code is the HTTP meaning (`BadRequest`, `Unauthorized`…); the detail code names the cause
 * (`InputJsonInvalid`, `InvalidSas`…), which is what clients and tests should branch on.
 */
export class EventGridError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detailCode: string,
  ) {
    super(message);
    this.name = "EventGridError";
  }

  toBody(): { error: { code: string; message: string; details: { code: string; message: string }[] } } {
    return { error: { code: this.code, message: this.message, details: [{ code: this.detailCode, message: this.message }] } };
  }
}

export const eventGridErrors = {
  invalidJson: (message: string): EventGridError => new EventGridError(400, "BadRequest", message, "InputJsonInvalid"),
  invalidContentType: (contentType: string): EventGridError =>
    new EventGridError(
      400,
      "BadRequest",
      `Unsupported content type "${contentType}". Send application/json (Event Grid schema) or application/cloudevents-batch+json / application/cloudevents+json (CloudEvents 1.0).`,
      "InvalidContentType",
    ),
  missingApiVersion: (): EventGridError =>
    new EventGridError(400, "BadRequest", "The api-version query parameter is missing or unsupported; use api-version=2018-01-01.", "InvalidApiVersion"),
  unauthorized: (topicHost: string, reason: string): EventGridError =>
    new EventGridError(
      401,
      "Unauthorized",
      `The request authorization key is not authorized for ${topicHost}. This is due to the reason: ${reason}`,
      "Unauthorized",
    ),
  invalidSas: (topicHost: string, reason: string): EventGridError =>
    new EventGridError(401, "Unauthorized", `The request authorization key is not authorized for ${topicHost}. This is due to the reason: ${reason}`, "InvalidSas"),
  payloadTooLarge: (message: string): EventGridError => new EventGridError(413, "RequestEntityTooLarge", message, "PayloadTooLarge"),
  notFound: (message: string): EventGridError => new EventGridError(404, "NotFound", message, "ResourceNotFound"),
  methodNotAllowed: (method: string): EventGridError =>
    new EventGridError(405, "MethodNotAllowed", `The ${method} method is not allowed; publish with POST.`, "MethodNotAllowed"),
};
