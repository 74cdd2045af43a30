// One user-assigned managed identity per name: the workflows', the host's and the auditor's.
param location string
param tags object
param prefix string
param names array

resource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in names: {
  name: '${prefix}-${n}'
  location: location
  tags: tags
}]

// One list, not objects built with lambdas: a lambda cannot index a resource collection.
output list array = [for (n, i) in names: { name: n, principalId: ids[i].properties.principalId, clientId: ids[i].properties.clientId, id: ids[i].id }]
