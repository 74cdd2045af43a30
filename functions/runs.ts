/**
 * Run status for operators and the CLI: `GET /api/runs/{id}` with a function key. The CLI follows every run it
 * starts here, so it never needs the Durable extension's system key or the host master key.
 */
import * as df from "durable-functions";
import { runStatusHttpHandler } from "../shared/app/runStatusHttp";
import { triggerNames } from "../shared/names";

df.app.client.http(triggerNames.runStatusHttp, { route: "runs/{id}", methods: ["GET"], authLevel: "function", handler: runStatusHttpHandler });
