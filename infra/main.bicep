// hsm-lifecycle on Azure: the Function App (Flex Consumption, Node.js 22, Durable Functions on the Azure Storage
// backend), its host storage, the lifecycle storage account and containers (one immutable, version-level WORM, for
// backup copies), one user-assigned identity per workflow plus the auditor's, the lifecycle Event Grid topic,
// monitoring, and the Azure role assignments, all from ../shared/rbac/lifecycleRoles.json (the roles the CLI applies)
// and ../shared/config/settingsCatalog.json (the settings the app reads).
//
// HSMs and vaults are inputs: existing resources, referenced with `existing`; nothing here creates or deletes them.
// Managed HSM local RBAC is not ARM: the azd postprovision hook runs `hsm-lifecycle rbac apply` (infra/hooks/).
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(40)
@description('azd environment name; names every resource.')
param environmentName string

param location string = resourceGroup().location

@minLength(1)
@description('Managed HSMs: [{ name: "primary", resourceId: "/subscriptions/…/providers/Microsoft.KeyVault/managedHSMs/…" }]. Names are the labels of HSMS, DRILL_PAIRS and the rotation policy.')
param hsms array

@description('Key Vault vaults (Azure RBAC permission model): [{ name: "app", resourceId: "/subscriptions/…/providers/Microsoft.KeyVault/vaults/…", location: "westeurope" }].')
param vaults array = []

@description('DRILL_PAIRS: "primary=dr" pairs (HSM names), comma-separated; empty for no drills.')
param drillPairs string = ''

@description('Object ids of the HSMs\' managed identities: Storage Blob Data Contributor on the backup container (BACKUP_AUTH=managedIdentity).')
param hsmPrincipalIds array = []

@description('Object ids of the people or groups expected to hold role-write and restore (RBAC_PRINCIPAL_IDS "administrator").')
param administratorPrincipalIds array = []

@description('Resource id of an existing vault (Azure RBAC) holding the backup manifest key, a secret of at least 32 random bytes, base64 (`openssl rand -base64 32`), made once and kept for the life of the backups. The app reads it through a Key Vault reference; the key never passes through the deployment.')
param manifestKeyVaultId string

param manifestKeySecretName string = 'backup-manifest-key'

@allowed(['managedIdentity', 'sas'])
param backupAuth string = 'managedIdentity'

@minValue(1)
@description('Days each backup copy stays immutable (version-level WORM on the copy container).')
param backupCopyImmutabilityDays int = 90

@description('Private endpoints for both storage accounts and the topic, an Azure Monitor Private Link Scope (the lifecycle log\'s data collection endpoint, Application Insights, the workspace) with its private endpoint, a VNet for the app, public access off (the lifecycle account keeps a firewall that admits trusted Azure services: Managed HSM writes backups through it; Azure Monitor keeps public queries for people; the app keeps its public endpoint for Event Grid deliveries and approvals).')
param enablePrivateNetworking bool = false

param vnetAddressPrefix string = '10.40.0.0/16'

@description('Create the Event Grid subscriptions to the keyEventGrid function. They need the function deployed: azd sets this on its postdeploy hook and provisions again.')
param subscribeEvents bool = false

@description('Further app settings (keys from the settings catalog, e.g. SWEEP_SCHEDULE, RETENTION_DAILY, RTO_TARGET); unset keys take the app\'s documented defaults.')
param appSettings object = {}

@description('Who may request operations that need approval (emergency rotation, key recovery): Entra object ids and group:<id> entries, comma-separated. Empty: nobody can.')
param operators string = ''

@description('Who may approve or reject those requests: object ids and group:<id> entries, comma-separated (never the requester).')
param approvers string = ''

@description('Audience of the Entra bearer tokens requesters and approvers present (the app registration). Empty behind App Service Authentication.')
param authAudience string = ''

@minValue(40)
param maximumInstanceCount int = 40

var roles = loadJsonContent('../shared/rbac/lifecycleRoles.json')
var azureRoles = roles.azure
var catalog = loadJsonContent('../shared/config/settingsCatalog.json')
var defaults = toObject(catalog, s => s.key, s => s.?default ?? '')

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName, application: 'hsm-lifecycle' }

var containerNames = {
  backups: defaults[azureRoles.containers.backups.setting]
  reports: defaults[azureRoles.containers.reports.setting]
  audit: defaults[azureRoles.containers.audit.setting]
  backupCopies: azureRoles.containers.backupCopies.name
  pacing: defaults[azureRoles.containers.pacing.setting]
}

// The workflow identities (the app runs each workflow as its own), the host's (runtime storage, deployment
// package, telemetry: no workflow identity touches those), and the auditor's (for people; never attached to the app).
var workloads = ['rotation', 'backup', 'retention', 'drill', 'steward', 'recovery']

module identities 'modules/identities.bicep' = {
  name: 'identities'
  params: { location: location, tags: tags, prefix: 'id-hsmlc-${token}', names: concat(workloads, ['host', 'auditor']) }
}

var principalIds = toObject(identities.outputs.list, x => x.name, x => x.principalId)
var clientIds = toObject(identities.outputs.list, x => x.name, x => x.clientId)
var identityIds = toObject(identities.outputs.list, x => x.name, x => x.id)

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { location: location, tags: tags, token: token, hostPrincipalId: principalIds.host, monitoringRoles: azureRoles.monitoringRoles, builtInRoles: azureRoles.builtInRoles, privateNetworking: enablePrivateNetworking }
}

// Every audit record also goes out as a row of HsmLifecycle_CL, sent as the host identity (publisher on the rule only).
module lifecycleLog 'modules/lifecycleLog.bicep' = {
  name: 'lifecycleLog'
  params: { location: location, tags: tags, token: token, workspaceName: monitoring.outputs.workspaceName, senderPrincipalId: principalIds.host, builtInRoles: azureRoles.builtInRoles, privateNetworking: enablePrivateNetworking }
}

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  params: { location: location, tags: tags, token: token, addressPrefix: vnetAddressPrefix }
}

// Azure Monitor takes private endpoints on a Private Link Scope holding its resources, not on each resource.
module monitorPrivateLink 'modules/monitorPrivateLink.bicep' = if (enablePrivateNetworking) {
  name: 'monitorPrivateLink'
  params: {
    location: location
    tags: tags
    token: token
    scopedResourceIds: [lifecycleLog.outputs.endpointId, monitoring.outputs.appInsightsId, monitoring.outputs.workspaceId]
    peSubnetId: enablePrivateNetworking ? network.outputs.peSubnetId : ''
    dnsZoneIds: enablePrivateNetworking ? [network.outputs.dnsZoneIds.monitor, network.outputs.dnsZoneIds.oms, network.outputs.dnsZoneIds.ods, network.outputs.dnsZoneIds.agentsvc, network.outputs.dnsZoneIds.blob] : []
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    token: token
    containerNames: containerNames
    backupCopyImmutabilityDays: backupCopyImmutabilityDays
    privateNetworking: enablePrivateNetworking
    peSubnetId: enablePrivateNetworking ? network.outputs.peSubnetId : ''
    dnsZoneIds: enablePrivateNetworking ? network.outputs.dnsZoneIds : {}
    principalIds: principalIds
    hsmPrincipalIds: hsmPrincipalIds
    backupAuth: backupAuth
    azureRoles: azureRoles
    workspaceId: monitoring.outputs.workspaceId
  }
}

module topic 'modules/topic.bicep' = {
  name: 'topic'
  params: {
    location: location
    tags: tags
    token: token
    privateNetworking: enablePrivateNetworking
    peSubnetId: enablePrivateNetworking ? network.outputs.peSubnetId : ''
    dnsZoneIds: enablePrivateNetworking ? network.outputs.dnsZoneIds : {}
    principalIds: principalIds
    azureRoles: azureRoles
    workspaceId: monitoring.outputs.workspaceId
  }
}

var hsmUrls = map(hsms, h => '${h.name}=https://${last(split(h.resourceId, '/'))}.managedhsm.azure.net')
var vaultUrls = map(vaults, v => '${v.name}=https://${last(split(v.resourceId, '/'))}${environment().suffixes.keyvaultDns}')
// RBAC_PRINCIPAL_IDS names the identities `rbac plan` assigns HSM roles to (retention and host hold none).
var principalIdPairs = map(['rotation', 'backup', 'drill', 'steward', 'recovery', 'auditor'], w => '${w}=${principalIds[w]}')
var administratorPairs = map(administratorPrincipalIds, a => 'administrator=${a}')

// Every setting the app reads (settingsCatalog.json) is here, or left to its documented default (the README's
// "Deploying to Azure" lists them; test/infra/ checks both).
var lifecycleSettings = {
  HSMS: join(hsmUrls, ',')
  VAULTS: join(vaultUrls, ',')
  DRILL_PAIRS: drillPairs
  HSM_RESOURCE_IDS: join(map(hsms, h => '${h.name}=${h.resourceId}'), ',')
  STORAGE_ACCOUNT_URL: storage.outputs.blobEndpoint
  STORAGE_CONNECTION_STRING: ''
  BACKUP_CONTAINER: containerNames.backups
  BACKUP_MANIFEST_KEY: '@Microsoft.KeyVault(VaultName=${last(split(manifestKeyVaultId, '/'))};SecretName=${manifestKeySecretName})'
  BACKUP_AUTH: backupAuth
  BACKUP_COPY_CONTAINER_URL: '${storage.outputs.blobEndpoint}${containerNames.backupCopies}'
  DRILL_REPORTS_CONTAINER: containerNames.reports
  AUDIT_CONTAINER: containerNames.audit
  ROTATION_PACING_CONTAINER: containerNames.pacing
  LIFECYCLE_TOPIC_ENDPOINT: topic.outputs.endpoint
  LIFECYCLE_TOPIC_KEY: ''
  EVENT_SOURCES: join(concat(map(vaults, v => v.resourceId), [topic.outputs.id]), ',')
  ROTATION_IDENTITY_CLIENT_ID: clientIds.rotation
  BACKUP_IDENTITY_CLIENT_ID: clientIds.backup
  RETENTION_IDENTITY_CLIENT_ID: clientIds.retention
  DRILL_IDENTITY_CLIENT_ID: clientIds.drill
  DR_STEWARD_IDENTITY_CLIENT_ID: clientIds.steward
  RECOVERY_IDENTITY_CLIENT_ID: clientIds.recovery
  RBAC_PRINCIPAL_IDS: join(concat(principalIdPairs, administratorPairs), ',')
  RBAC_ADMIN_CLIENT_ID: ''
  HSM_TLS_CA_FILE: ''
  HSM_EMULATOR: 'false'
  LIFECYCLE_LOG_ENDPOINT: lifecycleLog.outputs.ingestionEndpoint
  LIFECYCLE_LOG_RULE_ID: lifecycleLog.outputs.ruleImmutableId
  LIFECYCLE_LOG_IDENTITY_CLIENT_ID: clientIds.host
  OPERATORS: operators
  APPROVERS: approvers
  AUTH_AUDIENCE: authAudience
  AUTH_TENANT_ID: tenant().tenantId
  AUTH_TOKEN_SECRET_FILE: ''
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    location: location
    tags: union(tags, { 'azd-service-name': 'app' })
    token: token
    hostStorageName: storage.outputs.hostStorageName
    hostIdentityId: identityIds.host
    hostIdentityClientId: clientIds.host
    workloadIdentityIds: [for w in workloads: identityIds[w]]
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    workspaceId: monitoring.outputs.workspaceId
    appSubnetId: enablePrivateNetworking ? network.outputs.appSubnetId : ''
    maximumInstanceCount: maximumInstanceCount
    settings: union(lifecycleSettings, appSettings)
  }
}

// The host identity resolves the manifest key's Key Vault reference: Secrets User on that one secret.
module manifestKeyAccess 'modules/secretAccess.bicep' = {
  name: 'manifestKeyAccess'
  scope: resourceGroup(split(manifestKeyVaultId, '/')[2], split(manifestKeyVaultId, '/')[4])
  params: {
    vaultName: last(split(manifestKeyVaultId, '/'))
    secretName: manifestKeySecretName
    assignments: map(azureRoles.secretAssignments, a => { principalId: principalIds[a.identity], roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureRoles.builtInRoles[a.role]) })
  }
}

// The vault roles are Azure RBAC: custom definitions from the same JSON the CLI reads, assignable where the vaults are.
var vaultScopes = union([resourceGroup().id], map(vaults, v => join(take(split(v.resourceId, '/'), 5), '/')))

resource vaultRoleDefinitions 'Microsoft.Authorization/roleDefinitions@2022-04-01' = [for r in items(roles.lifecycleRoles): if (r.value.kind == 'vault' && !empty(vaults)) {
  name: guid(subscription().id, r.value.name)
  properties: {
    roleName: '${r.value.roleName} (${environmentName})'
    description: r.value.description
    type: 'CustomRole'
    assignableScopes: vaultScopes
    permissions: [{ actions: r.value.actions, notActions: [], dataActions: r.value.dataActions, notDataActions: [] }]
  }
}]

module vaultWiring 'modules/vault.bicep' = [for v in vaults: {
  name: 'vault-${v.name}'
  scope: resourceGroup(split(v.resourceId, '/')[2], split(v.resourceId, '/')[4])
  params: {
    vaultName: last(split(v.resourceId, '/'))
    location: v.location
    tags: tags
    rotationPrincipalId: principalIds.rotation
    auditorPrincipalId: principalIds.auditor
    rotationRoleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', guid(subscription().id, roles.lifecycleRoles.VAULT_ROTATION_ROLE.name))
    auditorRoleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', guid(subscription().id, roles.lifecycleRoles.VAULT_AUDITOR_ROLE.name))
    workspaceId: monitoring.outputs.workspaceId
    functionAppId: functionApp.outputs.id
    subscribeEvents: subscribeEvents
  }
  dependsOn: [vaultRoleDefinitions]
}]

module hsmDiagnostics 'modules/hsm.bicep' = [for h in hsms: {
  name: 'hsm-${h.name}'
  scope: resourceGroup(split(h.resourceId, '/')[2], split(h.resourceId, '/')[4])
  params: { hsmName: last(split(h.resourceId, '/')), workspaceId: monitoring.outputs.workspaceId, principalIds: principalIds, azureRoles: azureRoles }
}]

module topicSubscription 'modules/topicSubscription.bicep' = if (subscribeEvents) {
  name: 'topicSubscription'
  params: { topicName: topic.outputs.name, functionAppId: functionApp.outputs.id }
}

// azd writes outputs to the environment; the hooks build the CLI's settings from them.
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output HSM_LIFECYCLE_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output HSMS string = lifecycleSettings.HSMS
output DRILL_PAIRS string = drillPairs
output RBAC_PRINCIPAL_IDS string = lifecycleSettings.RBAC_PRINCIPAL_IDS
output STORAGE_ACCOUNT_URL string = storage.outputs.blobEndpoint
output LIFECYCLE_TOPIC_ENDPOINT string = topic.outputs.endpoint
