namespace LlmCostTracker.ApiService.Ingestion;

/// <summary>The broker did not confirm within the bound: the caller gets 503 and may retry (event ids are idempotent).</summary>
public sealed class BrokerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
