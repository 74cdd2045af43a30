// The Function App on the Flex Consumption plan (FC1), Linux, Node.js 22. Why Flex Consumption: it runs Durable
// Functions on the Azure Storage backend (only Netherite is unsupported there), integrates with a VNet and takes
// private endpoints, scales to zero between the nightly runs (Elastic Premium keeps at least one instance billed
// around the clock), has no 10-minute function timeout, and is where Linux Consumption (retiring, no VNet) moves to.
param location string
param tags object
param token string
param hostStorageName string
param hostIdentityId string
param hostIdentityClientId string
param workloadIdentityIds array
param appInsightsConnectionString string
param workspaceId string
param appSubnetId string
param maximumInstanceCount int
param settings object

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-hsmlc-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var identities = toObject(concat([hostIdentityId], workloadIdentityIds), id => id, id => {})

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-hsmlc-${token}'
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: { type: 'UserAssigned', userAssignedIdentities: identities }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Public even with private networking: Event Grid delivers the vaults' and the topic's events to keyEventGrid over
    // the public endpoint ("it's not possible to deliver events using private endpoints", Event Grid "Event delivery
    // with a managed identity"), and requesters and approvers call the approval functions. Every call is Entra- or
    // function-key-authenticated; the app's own outbound traffic goes through the VNet.
    publicNetworkAccess: 'Enabled'
    // Key Vault references (BACKUP_MANIFEST_KEY) resolve as the host identity, not a workflow identity.
    keyVaultReferenceIdentity: hostIdentityId
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: { minTlsVersion: '1.2', ftpsState: 'Disabled' }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}app-package'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: hostIdentityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: 2048 }
      runtime: { name: 'node', version: '22' }
    }
  }
}

// The runtime's own connections sign in as the host identity; the lifecycle settings come from main.bicep.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: union({
    AzureWebJobsStorage__accountName: hostStorage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: hostIdentityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${hostIdentityClientId};Authorization=AAD'
  }, settings)
}

// Basic auth for deployment is off: packages go through Entra ID.
resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'hsm-lifecycle'
  scope: app
  properties: { workspaceId: workspaceId, logs: [{ category: 'FunctionAppLogs', enabled: true }] }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName
