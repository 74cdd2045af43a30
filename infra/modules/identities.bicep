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

output principalIds object = toObject(range(0, length(names)), i => names[i], i => ids[i].properties.principalId)
output clientIds object = toObject(range(0, length(names)), i => names[i], i => ids[i].properties.clientId)
output resourceIds object = toObject(range(0, length(names)), i => names[i], i => ids[i].id)
