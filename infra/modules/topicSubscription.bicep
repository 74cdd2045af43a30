// The lifecycle topic's subscription to keyEventGrid (the HSM key expiry events the sweep publishes). Created once
// the function exists: Event Grid checks an AzureFunction destination when the subscription is made.
param topicName string
param functionAppId string

resource topic 'Microsoft.EventGrid/topics@2024-06-01-preview' existing = {
  name: topicName
}

resource keyEvents 'Microsoft.EventGrid/eventSubscriptions@2024-06-01-preview' = {
  name: 'hsm-lifecycle-keyEventGrid'
  scope: topic
  properties: {
    destination: { endpointType: 'AzureFunction', properties: { resourceId: '${functionAppId}/functions/keyEventGrid', maxEventsPerBatch: 1 } }
    filter: { includedEventTypes: ['Microsoft.KeyVault.KeyNearExpiry', 'Microsoft.KeyVault.KeyExpired'] }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
  }
}
