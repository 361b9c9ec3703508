namespace LlmCostTracker.Contracts;

/// <summary>One LLM call's token usage, as accepted by the API. Token fields follow the OpenTelemetry GenAI
/// conventions: <see cref="InputTokens"/> includes <see cref="CachedInputTokens"/> and
/// <see cref="CacheWriteInputTokens"/>, <see cref="OutputTokens"/> includes <see cref="ReasoningOutputTokens"/>.</summary>
public sealed record LlmUsage
{
    public required string EventId { get; init; }
    public required string UserId { get; init; }
    public required string Model { get; init; }
    public required long InputTokens { get; init; }
    public required long CachedInputTokens { get; init; }
    public required long OutputTokens { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>Input tokens written to a provider's prompt cache (<c>gen_ai.usage.cache_creation.input_tokens</c>).</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>The part of <see cref="CacheWriteInputTokens"/> written with a 1-hour lifetime (Anthropic's
    /// <c>cache_creation.ephemeral_1h_input_tokens</c>); the GenAI conventions have no name for it yet.</summary>
    public long CacheWrite1hInputTokens { get; init; }

    /// <summary>The part of <see cref="InputTokens"/> (uncached) that was audio, priced at the model's audio input price.</summary>
    public long AudioInputTokens { get; init; }

    /// <summary>The part of <see cref="OutputTokens"/> that was audio, priced at the model's audio output price.</summary>
    public long AudioOutputTokens { get; init; }

    /// <summary>Output tokens spent on reasoning (<c>gen_ai.usage.reasoning.output_tokens</c>).</summary>
    public long ReasoningOutputTokens { get; init; }

    /// <summary>The provider's service tier (<see cref="ServiceTiers"/>); null means standard.</summary>
    public string? ServiceTier { get; init; }

    /// <summary>A <c>gen_ai.provider.name</c> value (<c>openai</c>, <c>anthropic</c>, ...), used to pick a price when
    /// a model id is listed by several providers.</summary>
    public string? Provider { get; init; }

    /// <summary>The budget hold this call was made under (<c>POST /api/v1/budget-holds</c>): counting the event
    /// settles it, releasing the hold in the same step as its real cost is added.</summary>
    public string? HoldId { get; init; }

    /// <summary>Cost attribution tags, dimension → value (<see cref="TagValidator"/>), e.g. <c>team</c> → <c>search</c>.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>W3C traceparent of the request that reported this usage, so the worker can continue its trace.</summary>
    public string? TraceParent { get; init; }
}
