// One existing Managed HSM, deployed into its own resource group: its AuditEvent to the workspace, and Reader on it
// for the drill identity. The HSM is only referenced; its local RBAC is applied by `hsm-lifecycle rbac apply` (the azd postprovision hook).
param hsmName string
param workspaceId string
param principalIds object
param azureRoles object

resource hsm 'Microsoft.KeyVault/managedHSMs@2023-07-01' existing = {
  name: hsmName
}

resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'hsm-lifecycle-audit'
  scope: hsm
  properties: { workspaceId: workspaceId, logs: [{ category: 'AuditEvent', enabled: true }] }
}

// The drill interlock identifies each HSM of a pair from ARM (its hsmUri and the drill-target tag), as the drill identity.
resource readers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in azureRoles.hsmResourceAssignments: {
  name: guid(hsm.id, principalIds[a.identity], a.role)
  scope: hsm
  properties: { principalId: principalIds[a.identity], principalType: 'ServicePrincipal', roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', azureRoles.builtInRoles[a.role]) }
}]
