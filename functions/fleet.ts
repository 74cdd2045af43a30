/**
 * The console's read-only views: the fleet page (`GET /api/fleet`, HTML or `?format=json`) and the dry run of all
 * three workflows (`GET /api/plan`). Function-level auth; handlers live in shared/fleet/.
 */
import { app } from "@azure/functions";
import { fleetHttpHandler, planHttpHandler } from "../shared/fleet/fleetHttp";
import { triggerNames } from "../shared/names";

app.http(triggerNames.fleetHttp, { route: "fleet", methods: ["GET"], authLevel: "function", handler: fleetHttpHandler });
app.http(triggerNames.planHttp, { route: "plan", methods: ["GET"], authLevel: "function", handler: planHttpHandler });
