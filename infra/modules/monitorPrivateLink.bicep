// With private networking, the app reaches Azure Monitor (the HsmLifecycle_CL data collection endpoint, Application
// Insights and the workspace) only through an Azure Monitor Private Link Scope and one private endpoint on it: Azure
// Monitor takes private endpoints on the scope, not on each resource ("Use Azure Private Link to connect networks to
// Azure Monitor"). Every Azure Monitor resource the app uses is in the scope, as Microsoft's design guidance asks.
// Ingestion is PrivateOnly: from the VNet, only these resources accept data (no exfiltration to another workspace).
// Queries stay Open: the app runs none, and the mode only governs what the VNet may query.
param location string
param tags object
param token string
param scopedResourceIds array
param peSubnetId string
param dnsZoneIds array

resource scope 'Microsoft.Insights/privateLinkScopes@2021-07-01-preview' = {
  name: 'ampls-hsmlc-${token}'
  location: 'global'
  tags: tags
  properties: { accessModeSettings: { ingestionAccessMode: 'PrivateOnly', queryAccessMode: 'Open' } }
}

resource scoped 'Microsoft.Insights/privateLinkScopes/scopedResources@2021-07-01-preview' = [for id in scopedResourceIds: {
  parent: scope
  name: last(split(id, '/'))
  properties: { linkedResourceId: id }
}]

// The endpoint once the resources are in the scope (Microsoft's order: connect the resources, then the endpoint).
module privateEndpoint 'privateEndpoint.bicep' = {
  name: 'pe-${scope.name}'
  params: { location: location, tags: tags, name: 'pe-${scope.name}', targetId: scope.id, groupId: 'azuremonitor', subnetId: peSubnetId, dnsZoneIds: dnsZoneIds }
  dependsOn: [scoped]
}

output id string = scope.id
