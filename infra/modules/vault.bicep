// One existing Key Vault vault (Azure RBAC permission model), deployed into its own resource group: the vault roles
// for the rotation identity and the auditor, its AuditEvent to the workspace, and (once the function exists) its
// system topic's subscription to keyEventGrid. The vault itself is only referenced, never created or changed.
param vaultName string
param location string
param tags object
param rotationPrincipalId string
param auditorPrincipalId string
param rotationRoleDefinitionId string
param auditorRoleDefinitionId string
param workspaceId string
param functionAppId string
param subscribeEvents bool

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource rotation 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, rotationPrincipalId, rotationRoleDefinitionId)
  scope: vault
  properties: { principalId: rotationPrincipalId, principalType: 'ServicePrincipal', roleDefinitionId: rotationRoleDefinitionId }
}

resource auditor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, auditorPrincipalId, auditorRoleDefinitionId)
  scope: vault
  properties: { principalId: auditorPrincipalId, principalType: 'ServicePrincipal', roleDefinitionId: auditorRoleDefinitionId }
}

resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'hsm-lifecycle-audit'
  scope: vault
  properties: { workspaceId: workspaceId, logs: [{ category: 'AuditEvent', enabled: true }] }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2024-06-01-preview' = {
  name: 'evgst-${vaultName}'
  location: location
  tags: tags
  properties: { source: vault.id, topicType: 'Microsoft.KeyVault.vaults' }
}

resource keyEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2024-06-01-preview' = if (subscribeEvents) {
  parent: systemTopic
  name: 'hsm-lifecycle-keyEventGrid'
  properties: {
    destination: { endpointType: 'AzureFunction', properties: { resourceId: '${functionAppId}/functions/keyEventGrid', maxEventsPerBatch: 1 } }
    filter: { includedEventTypes: ['Microsoft.KeyVault.KeyNearExpiry', 'Microsoft.KeyVault.KeyExpired', 'Microsoft.KeyVault.KeyNewVersionCreated'] }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
  }
}
