/**
 * ARM resource ids the emulator stamps on events. Event Grid puts the publishing resource's ARM id in `topic`
 * (Event Grid schema) or `source` (CloudEvents); apps filter on it, so it must look exactly like Azure's.
 * The subscription id and resource group are fixed placeholders: there is no ARM behind the emulator.
 */
export const EMULATOR_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000";
export const EMULATOR_RESOURCE_GROUP = "hsm-lifecycle-emulator";

export function topicResourceId(topicName: string): string {
  return `/subscriptions/${EMULATOR_SUBSCRIPTION_ID}/resourceGroups/${EMULATOR_RESOURCE_GROUP}/providers/Microsoft.EventGrid/topics/${topicName}`;
}

export function vaultResourceId(vaultName: string): string {
  return `/subscriptions/${EMULATOR_SUBSCRIPTION_ID}/resourceGroups/${EMULATOR_RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/${vaultName}`;
}
