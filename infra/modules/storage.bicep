// Two accounts. Host storage: the Functions runtime and the Durable task hub (Azure Storage backend: blobs, queues,
// tables) and the Flex Consumption deployment package; only the host identity has data roles on it. Lifecycle
// storage: backups, manifests, drill reports, audit records and the immutable copy container, each workflow
// identity holding roles on the containers it uses only (lifecycleRoles.json `azure.storageAssignments`).
// Shared keys are off on both: every caller signs in with Entra ID.
param location string
param tags object
param token string
param containerNames object
param backupCopyImmutabilityDays int
param privateNetworking bool
param peSubnetId string
param dnsZoneIds object
param principalIds object
param hsmPrincipalIds array
param backupAuth string
param azureRoles object
param workspaceId string

var deploymentContainer = 'app-package'

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('sthsmlch${token}', 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_ZRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateNetworking ? 'Deny' : 'Allow', bypass: 'None' }
  }
}

resource hostBlob 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: host
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlob
  name: deploymentContainer
  properties: { publicAccess: 'None' }
}

// Managed HSM reaches the lifecycle account as a trusted Microsoft service, so with private networking its
// firewall denies by default and admits trusted services (public network access cannot be off for that to work).
resource lifecycle 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('sthsmlcd${token}', 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_GZRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: privateNetworking ? 'Deny' : 'Allow', bypass: 'AzureServices' }
  }
}

// Version-level WORM needs blob versioning on the account.
resource lifecycleBlob 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: lifecycle
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: 14 }
    containerDeleteRetentionPolicy: { enabled: true, days: 14 }
  }
}

var containerKeys = map(items(containerNames), c => c.key)

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in items(containerNames): {
  parent: lifecycleBlob
  name: c.value
  properties: c.key == 'backupCopies' ? { publicAccess: 'None', immutableStorageWithVersioning: { enabled: true } } : { publicAccess: 'None' }
}]

// The copy container's default policy: every blob version written there stays immutable this many days.
resource copyPolicy 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: containers[indexOf(containerKeys, 'backupCopies')]
  name: 'default'
  properties: { immutabilityPeriodSinceCreationInDays: backupCopyImmutabilityDays, allowProtectedAppendWrites: false }
}

resource customRoles 'Microsoft.Authorization/roleDefinitions@2022-04-01' = [for r in items(azureRoles.customRoles): {
  name: guid(resourceGroup().id, r.key)
  properties: {
    roleName: '${r.value.roleName} (${resourceGroup().name})'
    description: r.value.description
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [{ actions: r.value.actions, notActions: [], dataActions: r.value.dataActions, notDataActions: [] }]
  }
}]

var builtInIds = toObject(items(azureRoles.builtInRoles), r => r.key, r => subscriptionResourceId('Microsoft.Authorization/roleDefinitions', r.value))
var customIds = toObject(items(azureRoles.customRoles), r => r.key, r => subscriptionResourceId('Microsoft.Authorization/roleDefinitions', guid(resourceGroup().id, r.key)))
var roleIds = union(builtInIds, customIds)

// An ABAC condition keeps each workflow's audit writes under its own prefix.
var writeActions = 'ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action\'}'
var identityAssignments = filter(azureRoles.storageAssignments, a => a.identity != 'hsm')
var hsmAssignments = filter(azureRoles.storageAssignments, a => a.identity == 'hsm')

resource containerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in identityAssignments: {
  name: guid(containers[indexOf(containerKeys, a.container)].id, principalIds[a.identity], a.role)
  scope: containers[indexOf(containerKeys, a.container)]
  properties: union({
    principalId: principalIds[a.identity]
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleIds[a.role]
  }, contains(a, 'pathPrefix') ? {
    conditionVersion: '2.0'
    condition: '((!(${writeActions})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith \'${a.pathPrefix}\'))'
  } : {})
  dependsOn: [customRoles]
}]

resource hsmRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for p in (empty(hsmAssignments) ? [] : hsmPrincipalIds): {
  name: guid(containers[indexOf(containerKeys, hsmAssignments[0].container)].id, p, hsmAssignments[0].role)
  scope: containers[indexOf(containerKeys, hsmAssignments[0].container)]
  properties: { principalId: p, principalType: 'ServicePrincipal', roleDefinitionId: roleIds[hsmAssignments[0].role] }
}]

var accountAssignments = filter(azureRoles.accountAssignments, a => a.when == 'always' || a.when == backupAuth)

resource accountRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in accountAssignments: {
  name: guid(lifecycle.id, principalIds[a.identity], a.role)
  scope: lifecycle
  properties: { principalId: principalIds[a.identity], principalType: 'ServicePrincipal', roleDefinitionId: roleIds[a.role] }
}]

resource hostRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in azureRoles.hostStorageRoles: {
  name: guid(host.id, principalIds.host, r)
  scope: host
  properties: { principalId: principalIds.host, principalType: 'ServicePrincipal', roleDefinitionId: roleIds[r] }
}]

resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'hsm-lifecycle'
  scope: lifecycleBlob
  properties: {
    workspaceId: workspaceId
    logs: [{ category: 'StorageRead', enabled: true }, { category: 'StorageWrite', enabled: true }, { category: 'StorageDelete', enabled: true }]
  }
}

var endpoints = concat(
  [{ name: 'pe-${host.name}-blob', target: host.id, group: 'blob' }, { name: 'pe-${host.name}-queue', target: host.id, group: 'queue' }, { name: 'pe-${host.name}-table', target: host.id, group: 'table' }],
  [{ name: 'pe-${lifecycle.name}-blob', target: lifecycle.id, group: 'blob' }]
)

module privateEndpoints 'privateEndpoint.bicep' = [for e in endpoints: if (privateNetworking) {
  name: e.name
  params: { location: location, tags: tags, name: e.name, targetId: e.target, groupId: e.group, subnetId: peSubnetId, dnsZoneIds: privateNetworking ? [dnsZoneIds[e.group]] : [] }
}]

output hostStorageName string = host.name
output deploymentContainerUrl string = '${host.properties.primaryEndpoints.blob}${deploymentContainer}'
output blobEndpoint string = lifecycle.properties.primaryEndpoints.blob
