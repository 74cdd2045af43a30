/**
 * The parts of an audit record's resource id that Azure Monitor spreads into its own columns
 * (`/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.KEYVAULT/MANAGEDHSMS/NAME`).
 */
export interface ResourceOfRecord {
  subscriptionId: string;
  resourceGroup: string;
  provider: string;
  /** Upper case, as AzureDiagnostics stores it: MANAGEDHSMS or VAULTS. */
  type: string;
  name: string;
}

const RESOURCE_ID = /^\/SUBSCRIPTIONS\/([^/]+)\/RESOURCEGROUPS\/([^/]+)\/PROVIDERS\/([^/]+)\/([^/]+)\/([^/]+)$/i;

export function resourceOfRecord(resourceId: string): ResourceOfRecord {
  const m = RESOURCE_ID.exec(resourceId);
  if (m === null) throw new Error(`Audit record resource id ${resourceId} is not /SUBSCRIPTIONS/…/PROVIDERS/NS/TYPE/NAME.`);
  const [, subscriptionId, resourceGroup, provider, type, name] = m as unknown as [string, string, string, string, string, string];
  return { subscriptionId, resourceGroup, provider: provider.toUpperCase(), type: type.toUpperCase(), name: name.toUpperCase() };
}
