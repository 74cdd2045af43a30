import { describe, expect, it } from "vitest";
import { createOrchestrator, DummyOrchestrationContext, DurableOrchestrationInput } from "durable-functions/lib/src/util/testingUtils";
import { AggregatedError } from "durable-functions/lib/src/error/AggregatedError";
import { LifecycleError, parseActivityFailure, type ActivityFailure } from "../../shared/errors";

/**
 * These tests replay real histories through durable-functions 3.5's own executor, so the errors the
 * orchestrator catches are exactly the objects the library builds from TaskFailed events.
 */
const at = new Date("2026-11-23T01:00:00Z");
const ev = (o: Record<string, unknown>): Record<string, unknown> => ({ EventId: -1, IsPlayed: false, Timestamp: at, ...o });

function historyWithFailure(failed: Record<string, unknown>, scheduledType = 4): unknown[] {
  return [
    ev({ EventType: 12 }),
    ev({ EventType: 0, Name: "rotateKey", Input: "null" }),
    ev({ EventType: scheduledType, EventId: 0, Name: "rotateKeyVersion" }),
    ev({ EventType: 13 }),
    ev({ EventType: 12 }),
    ev({ EventType: scheduledType === 4 ? 6 : 9, TaskScheduledId: 0, ...failed }),
  ];
}

interface Caught {
  name: string;
  message: string;
  parsed: ActivityFailure;
}

async function catchInOrchestrator(failed: Record<string, unknown>, sub = false): Promise<Caught> {
  const orchestrator = createOrchestrator(function* (context: any) {
    try {
      if (sub) yield context.df.callSubOrchestrator("rotateKey", {}, "rotate:hsm:k:v1");
      else yield context.df.callActivity("rotateKeyVersion", { name: "k" });
      return undefined;
    } catch (e) {
      const err = e as Error;
      return { name: err.name, message: err.message, parsed: parseActivityFailure(e) };
    }
  });
  const input = new DurableOrchestrationInput("rotate:hsm:k:v1", historyWithFailure(failed, sub ? 7 : 4), undefined, "3.00:00:00", "6.00:00:00", 30000, 1);
  const state = await orchestrator(input, new DummyOrchestrationContext("rotateKey"));
  return state.output as Caught;
}

describe("parseActivityFailure", () => {
  it("reads the code from the legacy Reason/Details shape durable builds as `${Reason} \\n ${Details}`", async () => {
    const thrown = new LifecycleError("Throttled", "rotateKey on https://hsm/keys/k was throttled (429 Throttled).");
    const caught = await catchInOrchestrator({
      Reason: `Activity function 'rotateKeyVersion' failed: ${thrown.message}`,
      Details: thrown.stack ?? "",
    });
    expect(caught.name).toBe("Error");
    expect(caught.message).toContain(" \n ");
    expect(caught.parsed).toEqual({ code: "Throttled", retryable: true, detail: "rotateKey on https://hsm/keys/k was throttled (429 Throttled)." });
  });

  it("reads the code when the Functions host split the worker's exception text at its first \": \" into FailureDetails", async () => {
    // durable extension OutOfProcMiddleware: Reason "Function 'x' failed with an unhandled exception.", Details null,
    // FailureDetails from "Result: Failure\nException: {message}\nStack: {stack}" split as {type}: {message}.
    const thrown = new LifecycleError("MissingRole", 'rotateKey on https://hsm/keys/k was refused (403 ForbiddenByRbac): the caller lacks the "Managed HSM Crypto User" role.');
    const cut = thrown.message.indexOf(": ");
    const caught = await catchInOrchestrator({
      Reason: "Function 'rotateKeyVersion' failed with an unhandled exception.",
      Details: null,
      FailureDetails: {
        ErrorType: thrown.message.slice(0, cut),
        ErrorMessage: thrown.message.slice(cut + 2),
        StackTrace: thrown.stack,
        IsNonRetriable: false,
        Properties: null,
      },
    });
    expect(caught.name).toBe("TaskFailedError");
    expect(caught.message).toBe(thrown.message);
    expect(caught.parsed).toEqual({ code: "MissingRole", retryable: false, detail: thrown.detail });
  });

  it("reads the code from a TaskFailedError's FailureDetails, preferring properties.code", async () => {
    const caught = await catchInOrchestrator({
      Reason: "ignored",
      Details: "ignored",
      FailureDetails: {
        ErrorType: "LifecycleError",
        ErrorMessage: "[KeyNotFound] getKey on https://hsm/keys/k failed: the key does not exist (404 KeyNotFound).",
        StackTrace: "LifecycleError: ...",
        IsNonRetriable: false,
        Properties: { code: "KeyNotFound", retryable: false },
      },
    });
    expect(caught.name).toBe("TaskFailedError");
    expect(caught.message).toBe("LifecycleError: [KeyNotFound] getKey on https://hsm/keys/k failed: the key does not exist (404 KeyNotFound).");
    expect(caught.parsed).toEqual({ code: "KeyNotFound", retryable: false, detail: "getKey on https://hsm/keys/k failed: the key does not exist (404 KeyNotFound)." });
  });

  it("reads the code from an inner failure when the outer one carries none", async () => {
    const caught = await catchInOrchestrator({
      Reason: "r",
      Details: "d",
      FailureDetails: {
        ErrorType: "Error",
        ErrorMessage: "wrapper",
        InnerFailure: { ErrorType: "LifecycleError", ErrorMessage: "[JobTimedOut] backup job 42 still running after PT2H." },
      },
    });
    expect(caught.parsed).toEqual({ code: "JobTimedOut", retryable: false, detail: "backup job 42 still running after PT2H." });
  });

  it("reads the code from the JSON payload an ExceptionPropertiesProvider puts in the message", async () => {
    const payload = JSON.stringify({ errorType: "LifecycleError", errorMessage: '[Conflict] beginBackup: "another backup" is running.', isNonRetriable: false, properties: { code: "Conflict" } });
    const caught = await catchInOrchestrator({ Reason: `Activity function 'startBackup' failed: ${payload}`, Details: "stack" });
    expect(caught.parsed).toEqual({ code: "Conflict", retryable: false, detail: 'beginBackup: "another backup" is running.' });
  });

  it("reads the code of a failed sub-orchestration whose message embeds the child's OrchestrationFailureError state", async () => {
    const childState = JSON.stringify({ isDone: false, actions: [], error: "[VerificationFailed] new version abc failed sign/verify.", schemaVersion: 1 });
    const caught = await catchInOrchestrator(
      { Reason: `Orchestrator function 'rotateKey' failed: false\n\n$OutOfProcData$:${childState}`, Details: "" },
      true,
    );
    expect(caught.parsed).toEqual({ code: "VerificationFailed", retryable: false, detail: "new version abc failed sign/verify." });
  });

  it("returns Unexpected (retryable) with the first line when no known code is present", async () => {
    const caught = await catchInOrchestrator({ Reason: "Activity function 'x' failed: TypeError: boom [NotACode]", Details: "at line 1" });
    expect(caught.parsed).toEqual({ code: "Unexpected", retryable: true, detail: "Activity function 'x' failed: TypeError: boom [NotACode]" });
  });

  it("takes the first coded error of an AggregatedError from Task.all", () => {
    const agg = new AggregatedError([new Error("plain"), new Error("Activity function 'a' failed: [Throttled] slow down \n stack")]);
    expect(parseActivityFailure(agg)).toEqual({ code: "Throttled", retryable: true, detail: "slow down" });
  });

  it("accepts the LifecycleError itself and non-Error values", () => {
    expect(parseActivityFailure(new LifecycleError("DrillRefused", "target equals primary."))).toEqual({ code: "DrillRefused", retryable: false, detail: "target equals primary." });
    expect(parseActivityFailure("[StorageUnreachable] no answer")).toEqual({ code: "StorageUnreachable", retryable: true, detail: "no answer" });
    expect(parseActivityFailure(undefined).code).toBe("Unexpected");
  });
});
