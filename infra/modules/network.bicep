// The optional private network: a subnet the Flex Consumption app integrates with (delegated to
// Microsoft.App/environments), a subnet for private endpoints, and the private DNS zones they resolve through.
// The Azure Monitor Private Link Scope's endpoint registers in the monitor, oms, ods and agentsvc zones and in the
// blob zone (Microsoft's list for the `azuremonitor` sub-resource, "Configure private link for Azure Monitor").
param location string
param tags object
param token string
param addressPrefix string

var zones = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  topic: 'privatelink.eventgrid.azure.net'
  monitor: 'privatelink.monitor.azure.com'
  oms: 'privatelink.oms.opinsights.azure.com'
  ods: 'privatelink.ods.opinsights.azure.com'
  agentsvc: 'privatelink.agentsvc.azure-automation.net'
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: 'vnet-hsmlc-${token}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'private-endpoints'
        properties: { addressPrefix: cidrSubnet(addressPrefix, 24, 1), privateEndpointNetworkPolicies: 'Disabled' }
      }
    ]
  }
}

resource dns 'Microsoft.Network/privateDnsZones@2020-06-01' = [for z in items(zones): {
  name: z.value
  location: 'global'
  tags: tags
}]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (z, i) in items(zones): {
  parent: dns[i]
  name: 'vnet'
  location: 'global'
  properties: { virtualNetwork: { id: vnet.id }, registrationEnabled: false }
}]

output appSubnetId string = vnet.properties.subnets[0].id
output peSubnetId string = vnet.properties.subnets[1].id
output dnsZoneIds object = toObject(items(zones), z => z.key, z => resourceId('Microsoft.Network/privateDnsZones', z.value))
