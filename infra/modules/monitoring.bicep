// Log Analytics (the HSMs' and vaults' AuditEvent land here) and workspace-based Application Insights that accepts
// only Entra-authenticated telemetry (the host identity publishes it). With private networking neither takes data from
// public networks: the app sends through the Azure Monitor Private Link Scope (monitorPrivateLink.bicep), and resource
// logs from diagnostic settings reach the workspace over Microsoft's own channel, which these settings do not govern
// ("Use Azure Private Link to connect networks to Azure Monitor"). Queries stay public: people (auditors, the SOC's
// Sentinel) read from outside the VNet, signed in with Entra ID.
param location string
param tags object
param token string
param hostPrincipalId string
param monitoringRoles array
param builtInRoles object
param privateNetworking bool

var publicIngestion = privateNetworking ? 'Disabled' : 'Enabled'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-hsmlc-${token}'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 365, publicNetworkAccessForIngestion: publicIngestion, publicNetworkAccessForQuery: 'Enabled' }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-hsmlc-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: { Application_Type: 'web', WorkspaceResourceId: workspace.id, DisableLocalAuth: true, publicNetworkAccessForIngestion: publicIngestion, publicNetworkAccessForQuery: 'Enabled' }
}

resource publish 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in monitoringRoles: {
  name: guid(appInsights.id, hostPrincipalId, r)
  scope: appInsights
  properties: { principalId: hostPrincipalId, principalType: 'ServicePrincipal', roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[r]) }
}]

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output appInsightsId string = appInsights.id
output appInsightsConnectionString string = appInsights.properties.ConnectionString
