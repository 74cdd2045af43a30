// Log Analytics (the HSMs' and vaults' AuditEvent land here) and workspace-based Application Insights that accepts
// only Entra-authenticated telemetry (the host identity publishes it).
param location string
param tags object
param token string
param hostPrincipalId string
param monitoringRoles array
param builtInRoles object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-hsmlc-${token}'
  location: location
  tags: tags
  properties: { sku: { name: 'PerGB2018' }, retentionInDays: 365 }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-hsmlc-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: { Application_Type: 'web', WorkspaceResourceId: workspace.id, DisableLocalAuth: true }
}

resource publish 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in monitoringRoles: {
  name: guid(appInsights.id, hostPrincipalId, r)
  scope: appInsights
  properties: { principalId: hostPrincipalId, principalType: 'ServicePrincipal', roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[r]) }
}]

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output appInsightsConnectionString string = appInsights.properties.ConnectionString
