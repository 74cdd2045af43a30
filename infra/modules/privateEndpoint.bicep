// One private endpoint for one sub-resource (blob, queue, table, topic, azuremonitor), registered in its private DNS
// zones (one for most; the Azure Monitor Private Link Scope's registers in several).
param location string
param tags object
param name string
param targetId string
param groupId string
param subnetId string
param dnsZoneIds array

resource pe 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [{ name: name, properties: { privateLinkServiceId: targetId, groupIds: [groupId] } }]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = {
  parent: pe
  name: 'default'
  properties: { privateDnsZoneConfigs: map(dnsZoneIds, z => { name: replace(last(split(z, '/')), '.', '-'), properties: { privateDnsZoneId: z } }) }
}
