// The lifecycle rows (every audit record the app writes, as one row) land in the custom table HsmLifecycle_CL of the
// workspace, through the Logs Ingestion API: a data collection endpoint, a data collection rule whose stream has the
// table's columns, and "Monitoring Metrics Publisher" for the sending identity on that rule only (not the workspace,
// not the resource group). The Sentinel rules in sentinel/rules/ read these columns.
param location string
param tags object
param token string
param workspaceName string
param senderPrincipalId string
param builtInRoles object
@description('With private networking the endpoint takes no public traffic: the app reaches it through the Azure Monitor Private Link Scope (monitorPrivateLink.bicep).')
param privateNetworking bool

var columns = [
  { name: 'TimeGenerated', type: 'datetime' }
  { name: 'RecordId', type: 'string' }
  { name: 'Workflow', type: 'string' }
  { name: 'Operation', type: 'string' }
  { name: 'Outcome', type: 'string' }
  { name: 'Instance', type: 'string' }
  { name: 'TargetInstance', type: 'string' }
  { name: 'KeyName', type: 'string' }
  { name: 'KeyVersion', type: 'string' }
  { name: 'KeyExpiresOn', type: 'datetime' }
  { name: 'FolderName', type: 'string' }
  { name: 'RunId', type: 'string' }
  { name: 'JobId', type: 'string' }
  { name: 'CorrelationId', type: 'string' }
  { name: 'IdentityObjectId', type: 'string' }
  { name: 'Verified', type: 'boolean' }
  { name: 'RtoMs', type: 'long' }
  { name: 'RpoMs', type: 'long' }
  { name: 'RtoTargetMs', type: 'long' }
  { name: 'RpoTargetMs', type: 'long' }
  { name: 'Reason', type: 'string' }
]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource table 'Microsoft.OperationalInsights/workspaces/tables@2023-09-01' = {
  parent: workspace
  name: 'HsmLifecycle_CL'
  properties: {
    plan: 'Analytics'
    retentionInDays: 365
    totalRetentionInDays: 2557
    schema: { name: 'HsmLifecycle_CL', columns: columns }
  }
}

// The Logs Ingestion API goes through this endpoint (not the rule's own) because only an endpoint joins a Private Link
// Scope ("Logs Ingestion API in Azure Monitor").
resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: 'dce-hsmlc-${token}'
  location: location
  tags: tags
  properties: { networkAcls: { publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled' } }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: 'dcr-hsmlc-${token}'
  location: location
  tags: tags
  dependsOn: [table]
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: { 'Custom-HsmLifecycle_CL': { columns: columns } }
    destinations: { logAnalytics: [{ workspaceResourceId: workspace.id, name: 'workspace' }] }
    dataFlows: [{ streams: ['Custom-HsmLifecycle_CL'], destinations: ['workspace'], transformKql: 'source', outputStream: 'Custom-HsmLifecycle_CL' }]
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rule.id, senderPrincipalId, 'Monitoring Metrics Publisher')
  scope: rule
  properties: { principalId: senderPrincipalId, principalType: 'ServicePrincipal', roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles['Monitoring Metrics Publisher']) }
}

output endpointId string = endpoint.id
output ingestionEndpoint string = endpoint.properties.logsIngestion.endpoint
output ruleImmutableId string = rule.properties.immutableId
