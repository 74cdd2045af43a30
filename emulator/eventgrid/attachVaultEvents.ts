import type { EventEmitter } from "node:events";
import path from "node:path";
import type { EventRecord } from "./eventRecord";
import { VaultEventSource } from "./vaultEventSource";

/** The part of an emulator instance the vault events need (structural, so this module stays testable alone). */
export interface EventSourceInstance {
  readonly name: string;
  readonly kind: "managedHsm" | "vault";
  /** `https://127.0.0.1:PORT` once listening. */
  readonly url: string;
  readonly dataDir: string;
  readonly clock: { nowMs(): number };
  /** Emits "keyVersionCreated" {name, version, nbf?, exp?, at}, "clockShifted" and "clockTick". */
  readonly events: EventEmitter;
  currentKeyVersions(): { name: string; version: string; created: Date; nbf?: Date; exp?: Date }[];
}

interface KeyVersionCreated {
  name: string;
  version: string;
  nbf?: Date;
  exp?: Date;
  at: Date;
}

const seconds = (d: Date | undefined): number | undefined => (d === undefined ? undefined : Math.floor(d.getTime() / 1000));

/**
 * Makes a vault instance raise Key Vault's key events into `emit` (normally the delivery engine for the
 * vault's name). Managed HSM instances raise none, as in Azure: returns undefined for them.
 * Returns a detach function that stops the sweep and the listeners.
 */
export function attachVaultEvents(
  instance: EventSourceInstance,
  emit: (events: EventRecord[]) => void,
  options: { sweepIntervalMs?: number; log?: (line: string) => void } = {},
): (() => void) | undefined {
  if (instance.kind !== "vault") return undefined;
  const source = new VaultEventSource({
    vaultName: instance.name,
    // Read lazily: the URL is known only once the instance listens.
    get vaultUrl() {
      return instance.url;
    },
    now: () => instance.clock.nowMs(),
    listKeyVersions: () =>
      instance.currentKeyVersions().map((v) => ({
        name: v.name,
        version: v.version,
        created: Math.floor(v.created.getTime() / 1000),
        nbf: seconds(v.nbf),
        exp: seconds(v.exp),
      })),
    emit,
    stateFile: path.join(instance.dataDir, "eventgrid-raised.json"),
    ...(options.sweepIntervalMs !== undefined ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const onCreated = (event: KeyVersionCreated): void =>
    source.onKeyVersionCreated({ name: event.name, version: event.version, created: seconds(event.at) ?? 0, nbf: seconds(event.nbf), exp: seconds(event.exp) });
  const onClock = (): void => source.safeSweep();
  instance.events.on("keyVersionCreated", onCreated);
  instance.events.on("clockShifted", onClock);
  instance.events.on("clockTick", onClock);
  source.start();
  return () => {
    source.stop();
    instance.events.off("keyVersionCreated", onCreated);
    instance.events.off("clockShifted", onClock);
    instance.events.off("clockTick", onClock);
  };
}
