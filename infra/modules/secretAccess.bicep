// One existing secret in an existing vault, deployed into the vault's resource group: role assignments on that
// secret only (Key Vault Secrets User for the host identity, which resolves the app's Key Vault reference).
param vaultName string
param secretName string
param assignments array

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: secretName
}

resource readers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in assignments: {
  name: guid(secret.id, a.principalId, a.roleDefinitionId)
  scope: secret
  properties: { principalId: a.principalId, principalType: 'ServicePrincipal', roleDefinitionId: a.roleDefinitionId }
}]
