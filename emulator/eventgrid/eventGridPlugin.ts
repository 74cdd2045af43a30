import { readTokenSecret, verifyToken } from "../auth/tokens";
import type { EmulatorPlugin, PluginHandle } from "../options";
import type { RunningEmulator } from "../server";
import { ensureTls } from "../tls";
import { attachVaultEvents } from "./attachVaultEvents";
import { createBlobDeadLetterSink } from "./deadLetterSink";
import { DeliveryEngine } from "./deliveryEngine";
import type { DeliveryPolicy } from "./deliveryPolicy";
import { topicResourceId, vaultResourceId } from "./resourceIds";
import { ensureTopicKey } from "./topicKey";
import { startTopicServer, type TopicServer } from "./topicServer";

/** Audience of Entra ID tokens for Event Grid data plane (managed identity publishing). */
export const EVENTGRID_AUDIENCE = "https://eventgrid.azure.net";

/** Container dead letters go to when a subscription names none (needs `--blob`). */
export const DEFAULT_DEAD_LETTER_CONTAINER = "eventgrid-deadletter";

export interface EventGridPluginOptions {
  readonly policy?: Partial<DeliveryPolicy>;
  /** Real-time period of the vault expiry sweep (default 1 s). */
  readonly sweepIntervalMs?: number;
}

/** What a topic adds to the ready line (`instances.<topic>`). The key itself is only in `keyFile`. */
export interface TopicReadyEntry {
  kind: "eventGridTopic";
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** The EventGridPublisherClient endpoint: `https://127.0.0.1:PORT/api/events`. */
  endpoint: string;
  keyFile: string;
  resourceId: string;
}

const MARK = Symbol.for("hsm-emulator.eventGridPlugin");

export function isEventGridPlugin(plugin: EmulatorPlugin): boolean {
  return (plugin as unknown as Record<symbol, unknown>)[MARK] === true;
}

/**
 * The Event Grid part of the emulator, started after the instances: one HTTPS topic per `--topic`, the
 * delivery engine with every `--subscribe`, and Key Vault events from every vault instance (Managed HSM
 * instances send none, as in Azure). Dead letters go to Blob Storage when `--blob` is given.
 */
export function eventGridPlugin(pluginOptions: EventGridPluginOptions = {}): EmulatorPlugin {
  const plugin: EmulatorPlugin = async (emulator: RunningEmulator): Promise<PluginHandle> => {
    const { options, stateDir } = emulator;
    const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
    const topics = options.topics ?? [];
    const subscriptions = options.subscriptions ?? [];
    const vaultNames = Object.values(emulator.instances).filter((i) => i.kind === "vault").map((i) => i.name);
    const hsmNames = Object.values(emulator.instances).filter((i) => i.kind === "managedHsm").map((i) => i.name);
    for (const sub of subscriptions) {
      if (hsmNames.includes(sub.source)) {
        throw new Error(`--subscribe ${sub.source}=…: "${sub.source}" is a Managed HSM, and Managed HSM sends no Event Grid events. Subscribe to a vault or a --topic.`);
      }
      if (!vaultNames.includes(sub.source) && !topics.some((t) => t.name === sub.source)) {
        throw new Error(`--subscribe ${sub.source}=…: no --topic or --vault is named "${sub.source}".`);
      }
    }
    if (topics.length === 0 && subscriptions.length === 0 && vaultNames.length === 0) return { close: async () => undefined };

    const engine = new DeliveryEngine({
      ...(pluginOptions.policy ? { policy: pluginOptions.policy } : {}),
      ...(options.blobConnectionString ? { deadLetter: createBlobDeadLetterSink(options.blobConnectionString) } : {}),
      defaultDeadLetterContainer: DEFAULT_DEAD_LETTER_CONTAINER,
      ca: emulator.caPem,
      log,
      resourceIdOf: (source) => (vaultNames.includes(source) ? vaultResourceId(source) : topicResourceId(source)),
    });
    const servers: TopicServer[] = [];
    const detachers: (() => void)[] = [];
    const readyInstances: Record<string, TopicReadyEntry> = {};
    try {
      const tls = await ensureTls(stateDir);
      const tokenSecret = readTokenSecret(emulator.tokenSecretFile);
      // Any principal with a valid emulator token for Event Grid may publish (Azure would also check the
      // "EventGrid Data Sender" role; the emulator has no Event Grid RBAC).
      const verifyBearer = async (token: string): Promise<string | undefined> => {
        try {
          await verifyToken(tokenSecret, token, EVENTGRID_AUDIENCE);
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      };
      for (const topic of topics) {
        if (emulator.instances[topic.name]) throw new Error(`--topic ${topic.name}: the name is already used by an --hsm/--vault instance.`);
        const { key, keyFile } = ensureTopicKey(stateDir, topic.name);
        const server = await startTopicServer({ name: topic.name, port: topic.port, tls: { key: tls.keyPem, cert: tls.certPem }, accessKey: key, engine, log, verifyBearer });
        servers.push(server);
        readyInstances[topic.name] = { kind: "eventGridTopic", url: server.url, endpoint: server.endpoint, keyFile, resourceId: server.resourceId };
      }
      subscriptions.forEach((sub, index) => {
        engine.addSubscription({
          name: `${sub.source}-sub-${index + 1}`,
          source: sub.source,
          endpoint: sub.url,
          ...(sub.types && sub.types.length > 0 ? { includedEventTypes: sub.types } : {}),
        });
      });
      for (const running of Object.values(emulator.instances)) {
        const detach = attachVaultEvents(running.instance, (events) => engine.publish(running.name, events), {
          ...(pluginOptions.sweepIntervalMs !== undefined ? { sweepIntervalMs: pluginOptions.sweepIntervalMs } : {}),
          log,
        });
        if (detach) detachers.push(detach);
      }
    } catch (error) {
      for (const detach of detachers) detach();
      await engine.close();
      await Promise.all(servers.map((s) => s.close()));
      throw error;
    }
    eventGridEngines.set(emulator, engine);
    return {
      readyInstances,
      close: async () => {
        for (const detach of detachers) detach();
        await engine.close();
        await Promise.all(servers.map((s) => s.close()));
        eventGridEngines.delete(emulator);
      },
    };
  };
  (plugin as unknown as Record<symbol, unknown>)[MARK] = true;
  return plugin;
}

const eventGridEngines = new WeakMap<RunningEmulator, DeliveryEngine>();

/** The delivery engine of a running emulator (in-process tests and tools: subscriptions, logs, dead letters). */
export function eventGridEngineOf(emulator: RunningEmulator): DeliveryEngine | undefined {
  return eventGridEngines.get(emulator);
}
