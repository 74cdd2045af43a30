/**
 * The lock orchestration shared by the backup and drill starters: one `exclusiveRun` instance per resource
 * holds the lock while its run lasts (see shared/app/startExclusive.ts).
 */
import * as df from "durable-functions";
import { exclusiveRun } from "../shared/durable/exclusiveRun";
import { orchestrationNames } from "../shared/names";

df.app.orchestration(orchestrationNames.exclusiveRun, exclusiveRun);
