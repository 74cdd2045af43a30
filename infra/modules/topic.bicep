// The lifecycle Event Grid custom topic: the app publishes KeyRotated, Backup*, Drill* and HSM key expiry events to
// it as the workflow identities (EventGrid Data Sender on this topic only); access keys are off.
param location string
param tags object
param token string
param privateNetworking bool
param peSubnetId string
param dnsZoneIds object
param principalIds object
param azureRoles object
param workspaceId string

resource topic 'Microsoft.EventGrid/topics@2024-06-01-preview' = {
  name: 'evgt-hsmlc-${token}'
  location: location
  tags: tags
  properties: {
    inputSchema: 'EventGridSchema'
    disableLocalAuth: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

resource senders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in azureRoles.topicAssignments: {
  name: guid(topic.id, principalIds[a.identity], a.role)
  scope: topic
  properties: { principalId: principalIds[a.identity], principalType: 'ServicePrincipal', roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureRoles.builtInRoles[a.role]) }
}]

resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'hsm-lifecycle'
  scope: topic
  properties: { workspaceId: workspaceId, logs: [{ categoryGroup: 'allLogs', enabled: true }] }
}

module privateEndpoint 'privateEndpoint.bicep' = if (privateNetworking) {
  name: 'pe-${topic.name}'
  params: { location: location, tags: tags, name: 'pe-${topic.name}', targetId: topic.id, groupId: 'topic', subnetId: peSubnetId, dnsZoneIds: privateNetworking ? [dnsZoneIds.topic] : [] }
}

output id string = topic.id
output name string = topic.name
output endpoint string = topic.properties.endpoint
