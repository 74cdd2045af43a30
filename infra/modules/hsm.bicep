// One existing Managed HSM, deployed into its own resource group: its AuditEvent to the workspace. The HSM is only
// referenced; its local RBAC is applied by `hsm-lifecycle rbac apply` (the azd postprovision hook).
param hsmName string
param workspaceId string

resource hsm 'Microsoft.KeyVault/managedHSMs@2023-07-01' existing = {
  name: hsmName
}

resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'hsm-lifecycle-audit'
  scope: hsm
  properties: { workspaceId: workspaceId, logs: [{ category: 'AuditEvent', enabled: true }] }
}
