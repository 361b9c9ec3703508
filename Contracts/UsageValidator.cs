namespace LlmCostTracker.Contracts;

/// <summary>A usage event as a client sends it. Every field is nullable so that a missing one is reported by
/// name instead of failing deserialization.</summary>
public sealed record UsageEventRequest(
    string? EventId,
    string? UserId,
    string? Model,
    long? InputTokens,
    long? OutputTokens,
    long? CachedInputTokens,
    DateTimeOffset? OccurredAt,
    long? CacheWriteInputTokens = null,
    long? ReasoningOutputTokens = null,
    string? ServiceTier = null,
    string? Provider = null,
    string? HoldId = null,
    Dictionary<string, string?>? Tags = null,
    long? CacheWrite1hInputTokens = null,
    long? AudioInputTokens = null,
    long? AudioOutputTokens = null);

/// <summary>The ingestion rules, shared by the API and in-process trackers so that a tracker never sends what the
/// API would refuse. Pure: the clock and a fresh id come in as arguments.</summary>
public static class UsageValidator
{
    public const int MaxIdLength = 128;
    public const int MaxModelLength = 200;
    public const long MaxTokens = 100_000_000;
    public const int MaxBatchSize = 1_000;
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Retention = TimeSpan.FromDays(35);

    public const int MaxProviderLength = 64;

    /// <summary>A <c>gen_ai.provider.name</c>: lowercase ASCII letters, digits and <c>._-</c>.</summary>
    public static bool IsProviderName(string value) =>
        value.Length is > 0 and <= MaxProviderLength && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-');

    /// <summary>Letters and digits (ASCII) and <c>._-@+:</c>: safe in Redis keys, URLs and logs.</summary>
    public static bool IsSafeId(string value) => IsIdText(value, parentheses: false);

    /// <summary>A user id: 1 to <see cref="MaxIdLength"/> characters of <see cref="IsSafeId"/> or parentheses, which
    /// mark a user no client names itself, as OTLP ingestion's <c>(unattributed)</c>. (Tag values keep to
    /// <see cref="IsSafeId"/>: <c>(other)</c> is the ledger's own value there.)</summary>
    public static bool IsUserId(string value) => value.Length is > 0 and <= MaxIdLength && IsIdText(value, parentheses: true);

    private static bool IsIdText(string value, bool parentheses)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@' or '+' or ':' || (parentheses && c is '(' or ')')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks one event; adds each problem to <paramref name="errors"/> under <paramref name="prefix"/>
    /// + the field name, and returns the accepted event only when there was none.</summary>
    /// <remarks><paramref name="dimensions"/>: the configured tag dimensions (<see cref="AttributionOptions.Dimensions"/>),
    /// or null to accept any well-formed one (an in-process tracker, which does not know the API's configuration).
    /// <paramref name="traceParent"/>: the accepted event's <see cref="LlmUsage.TraceParent"/>, set here rather than by a
    /// copy of the event (a batch's thousand events were each made twice).</remarks>
    public static LlmUsage? Validate(
        UsageEventRequest? request, DateTimeOffset now, Func<string> newEventId, string prefix, IDictionary<string, string[]> errors,
        IReadOnlyCollection<string>? dimensions = null, string? traceParent = null)
    {
        if (request is null)
        {
            errors[prefix.Length > 0 ? prefix.TrimEnd('.') : "body"] = ["An event object is required."];
            return null;
        }

        var before = errors.Count;
        var userId = CheckUserId(request.UserId, new(prefix, "userId"), errors);
        var eventId = CheckId(request.EventId, new(prefix, "eventId"), required: false, errors) ?? newEventId();

        CheckModel(request.Model, new(prefix, "model"), errors);
        var holdId = CheckId(request.HoldId, new(prefix, "holdId"), required: false, errors);

        var input = CheckTokens(request.InputTokens, new(prefix, "inputTokens"), required: true, errors);
        var output = CheckTokens(request.OutputTokens, new(prefix, "outputTokens"), required: true, errors);
        var cached = CheckTokens(request.CachedInputTokens, new(prefix, "cachedInputTokens"), required: false, errors);
        var cacheWrite = CheckTokens(request.CacheWriteInputTokens, new(prefix, "cacheWriteInputTokens"), required: false, errors);
        var reasoning = CheckTokens(request.ReasoningOutputTokens, new(prefix, "reasoningOutputTokens"), required: false, errors);
        var cacheWrite1h = CheckTokens(request.CacheWrite1hInputTokens, new(prefix, "cacheWrite1hInputTokens"), required: false, errors);
        var audioInput = CheckTokens(request.AudioInputTokens, new(prefix, "audioInputTokens"), required: false, errors);
        var audioOutput = CheckTokens(request.AudioOutputTokens, new(prefix, "audioOutputTokens"), required: false, errors);
        if (cacheWrite1h > cacheWrite)
        {
            errors[prefix + "cacheWrite1hInputTokens"] = ["cacheWrite1hInputTokens must not exceed cacheWriteInputTokens (which includes 1-hour writes)."];
        }

        if (audioInput > 0 && audioInput > input - cached - cacheWrite && !errors.ContainsKey(prefix + "inputTokens"))
        {
            errors[prefix + "audioInputTokens"] = ["audioInputTokens must not exceed inputTokens less cached and cache-write tokens."];
        }

        if (audioOutput > 0 && audioOutput > output - reasoning && !errors.ContainsKey(prefix + "outputTokens"))
        {
            errors[prefix + "audioOutputTokens"] = ["audioOutputTokens must not exceed outputTokens less reasoning tokens."];
        }
        if (cached + cacheWrite > input && !errors.ContainsKey(prefix + "inputTokens"))
        {
            if (cached > input)
            {
                errors[prefix + "cachedInputTokens"] = ["cachedInputTokens must not exceed inputTokens (which includes cached tokens)."];
            }
            else if (cached + cacheWrite > input)
            {
                errors[prefix + "cacheWriteInputTokens"] = ["cachedInputTokens + cacheWriteInputTokens must not exceed inputTokens (which includes both)."];
            }
        }

        if (reasoning > output && !errors.ContainsKey(prefix + "outputTokens"))
        {
            errors[prefix + "reasoningOutputTokens"] = ["reasoningOutputTokens must not exceed outputTokens (which includes reasoning tokens)."];
        }

        var tags = TagValidator.Check(request.Tags, dimensions, prefix, errors);
        var tier = CheckTier(request.ServiceTier, new(prefix, "serviceTier"), errors);
        CheckProvider(request.Provider, new(prefix, "provider"), errors);

        var occurredAt = request.OccurredAt ?? now;
        if (occurredAt > now + MaxFutureSkew)
        {
            errors[prefix + "occurredAt"] = ["occurredAt must be at most 5 minutes in the future."];
        }
        else if (occurredAt < now - Retention)
        {
            errors[prefix + "occurredAt"] = ["occurredAt must be within the 35-day retention."];
        }

        if (errors.Count != before)
        {
            return null;
        }

        return new LlmUsage
        {
            EventId = eventId,
            UserId = userId!,
            Model = request.Model!,
            InputTokens = input,
            CachedInputTokens = cached,
            OutputTokens = output,
            OccurredAt = occurredAt.ToUniversalTime(),
            CacheWriteInputTokens = cacheWrite,
            ReasoningOutputTokens = reasoning,
            CacheWrite1hInputTokens = cacheWrite1h,
            AudioInputTokens = audioInput,
            AudioOutputTokens = audioOutput,
            // Standard is the default and travels as null: the broker's form stays as short as before.
            ServiceTier = tier == ServiceTiers.Standard ? null : tier,
            Provider = request.Provider,
            HoldId = holdId,
            Tags = tags,
            TraceParent = traceParent,
        };
    }

    internal static void CheckModel(string? model, FieldName field, IDictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(model))
        {
            errors[field.Path] = ["model is required."];
        }
        else if (model.Length > MaxModelLength || model.Any(char.IsControl) || string.IsNullOrWhiteSpace(model))
        {
            errors[field.Path] = [$"model must be 1 to {MaxModelLength} printable characters."];
        }
    }

    /// <summary>The tier's canonical name, or null (none given, or refused).</summary>
    internal static string? CheckTier(string? serviceTier, FieldName field, IDictionary<string, string[]> errors)
    {
        if (serviceTier is null)
        {
            return null;
        }

        var tier = ServiceTiers.Normalize(serviceTier);
        if (tier is null)
        {
            errors[field.Path] = [$"serviceTier must be one of {string.Join(", ", ServiceTiers.All)}."];
        }

        return tier;
    }

    internal static void CheckProvider(string? provider, FieldName field, IDictionary<string, string[]> errors)
    {
        if (provider is not null && !IsProviderName(provider))
        {
            errors[field.Path] = [$"provider must be 1 to {MaxProviderLength} characters from lowercase letters, digits and ._- (a gen_ai.provider.name such as openai, anthropic, aws.bedrock)."];
        }
    }

    internal static string? CheckUserId(string? value, FieldName field, IDictionary<string, string[]> errors) =>
        CheckId(value, field, required: true, errors, parentheses: true);

    internal static string? CheckId(string? value, FieldName field, bool required, IDictionary<string, string[]> errors, bool parentheses = false)
    {
        if (value is null)
        {
            if (required)
            {
                errors[field.Path] = [$"{field.Name} is required."];
            }

            return null;
        }

        if (value.Length is 0 or > MaxIdLength || !IsIdText(value, parentheses))
        {
            errors[field.Path] = [$"{field.Name} must be 1 to {MaxIdLength} characters from letters, digits and ._-@+:{(parentheses ? "()" : "")}"];
            return null;
        }

        return value;
    }

    internal static long CheckTokens(long? value, FieldName field, bool required, IDictionary<string, string[]> errors)
    {
        if (value is null)
        {
            if (required)
            {
                errors[field.Path] = [$"{field.Name} is required."];
            }

            return 0;
        }

        if (value is < 0 or > MaxTokens)
        {
            errors[field.Path] = [$"{field.Name} must be an integer from 0 to 100,000,000."];
            return 0;
        }

        return value.Value;
    }

}

/// <summary>A field's name under its prefix (<c>events[3].</c> or empty). A batch checks a dozen fields an event and
/// nearly all pass: the path is joined only for a problem, not for each check.</summary>
internal readonly struct FieldName(string prefix, string name)
{
    public string Name => name;

    public string Path => prefix + name;

    public static implicit operator FieldName(string name) => new("", name);
}
