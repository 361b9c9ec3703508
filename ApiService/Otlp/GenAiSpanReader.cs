using System.Globalization;
using Google.Protobuf.Collections;
using LlmCostTracker.ApiService.Otlp.Proto;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.ApiService.Otlp;

/// <summary>Reads the GenAI usage an OTLP span carries (the OpenTelemetry GenAI semantic conventions, current and
/// older attribute names) into a usage request, the same one the JSON API takes. Pure: no I/O, the clock comes in.</summary>
public sealed class GenAiSpanReader
{
    public const string EventIdPrefix = "otlp:";
    public const string TagAttributePrefix = "llmcost.tag.";
    public const string HoldIdAttribute = "llmcost.hold_id";

    private readonly string _defaultUser;
    private readonly Dictionary<string, string> _tagAttributes;
    private readonly HashSet<string> _dimensions;
    private readonly HashSet<string> _exclusiveInputProviders;

    public GenAiSpanReader(OtlpIngestOptions options, IReadOnlyCollection<string> dimensions)
    {
        _defaultUser = options.DefaultUser;
        _dimensions = new HashSet<string>(dimensions, StringComparer.Ordinal);
        _tagAttributes = options.Tags.Where(t => t.Value.Length > 0 && _dimensions.Contains(t.Value)).ToDictionary(StringComparer.Ordinal);
        _exclusiveInputProviders = new HashSet<string>(options.ExclusiveInputProviders, StringComparer.Ordinal);
    }

    /// <summary>The request for <paramref name="span"/>, or null when it carries no token usage (not a GenAI call, or
    /// one that reported none). Attributes that cannot be read (a token count that is no whole number) are added to
    /// <paramref name="problems"/> by attribute name; tags that cannot be kept to <paramref name="dropped"/>.</summary>
    public UsageEventRequest? Read(Span span, RepeatedField<KeyValue>? resource, IDictionary<string, string[]> problems, List<string> dropped)
    {
        var usage = new SpanAttributes();
        foreach (var attribute in span.Attributes)
        {
            usage.Add(attribute, problems);
        }

        if (!usage.HasUsage)
        {
            return null;
        }

        var eventId = EventId(span, problems);
        var tags = Tags(span.Attributes, resource, dropped);
        var user = usage.User ?? ResourceUser(resource) ?? _defaultUser;
        var provider = Provider(usage.Provider ?? usage.System);

        var input = usage.Input ?? usage.OlderInput ?? 0;
        var cacheRead = usage.CacheRead ?? 0;
        var cacheWrite = usage.CacheWrite ?? 0;
        // The conventions count cache reads and writes in the input; an instrumentation that reports the provider's
        // own exclusive figure shows it by cache counts above the input, or is known to (older names, ExclusiveInputProviders).
        var olderNames = usage.Input is null && usage.OlderInput is not null;
        if (cacheRead + cacheWrite > input || (olderNames && provider is not null && _exclusiveInputProviders.Contains(provider)))
        {
            input += cacheRead + cacheWrite;
        }

        return new UsageEventRequest(
            EventId: eventId,
            UserId: user,
            Model: usage.ResponseModel ?? usage.RequestModel,
            InputTokens: input,
            OutputTokens: usage.Output ?? usage.OlderOutput ?? 0,
            CachedInputTokens: usage.CacheRead,
            OccurredAt: End(span),
            CacheWriteInputTokens: usage.CacheWrite,
            ReasoningOutputTokens: usage.Reasoning,
            ServiceTier: Tier(usage.ServiceTier),
            Provider: provider,
            HoldId: usage.HoldId,
            Tags: tags,
            AudioInputTokens: usage.AudioInput,
            AudioOutputTokens: usage.AudioOutput);
    }

    /// <summary>The W3C traceparent of the span an event id was made of (<c>otlp:&lt;trace&gt;:&lt;span&gt;</c>): the
    /// worker's write joins the caller's trace under it. From the id's text, so the ids are turned to hex once.</summary>
    public static string TraceParent(string eventId) =>
        $"00-{eventId.AsSpan(EventIdPrefix.Length, 32)}-{eventId.AsSpan(EventIdPrefix.Length + 33, 16)}-01";

    /// <summary>From the span's ids, so a retried export (the same spans again) counts each call once.</summary>
    private static string? EventId(Span span, IDictionary<string, string[]> problems)
    {
        if (span.TraceId.Length != 16 || span.SpanId.Length != 8 || span.TraceId.Span.IndexOfAnyExcept((byte)0) < 0 || span.SpanId.Span.IndexOfAnyExcept((byte)0) < 0)
        {
            problems["trace_id/span_id"] = ["A usage span needs a 16-byte trace_id and an 8-byte span_id, not all zero: the event id is made of them."];
            return null;
        }

        return $"{EventIdPrefix}{Convert.ToHexStringLower(span.TraceId.Span)}:{Convert.ToHexStringLower(span.SpanId.Span)}";
    }

    private static DateTimeOffset? End(Span span)
    {
        var nanos = span.EndTimeUnixNano != 0 ? span.EndTimeUnixNano : span.StartTimeUnixNano;
        return nanos == 0 ? null : DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));
    }

    private static string? ResourceUser(RepeatedField<KeyValue>? resource)
    {
        string? enduser = null;
        if (resource is not null)
        {
            foreach (var attribute in resource)
            {
                switch (attribute.Key)
                {
                    case "user.id":
                        return Text(attribute.Value);
                    case "enduser.id":
                        enduser = Text(attribute.Value);
                        break;
                }
            }
        }

        return enduser;
    }

    /// <summary>A provider name as the conventions write it (lowercase); one that is not a valid name is left out
    /// (it only chooses among providers that list the same model id).</summary>
    private static string? Provider(string? name)
    {
        var provider = name?.ToLowerInvariant();
        return provider is not null && UsageValidator.IsProviderName(provider) ? provider : null;
    }

    /// <summary><c>openai.response.service_tier</c>: <c>default</c>, <c>auto</c> and <c>scale</c> bill at standard;
    /// <c>flex</c>, <c>priority</c> and <c>batch</c> at theirs; anything else at standard.</summary>
    private static string? Tier(string? tier) => tier is null ? null : ServiceTiers.Normalize(tier);

    private Dictionary<string, string?>? Tags(RepeatedField<KeyValue> span, RepeatedField<KeyValue>? resource, List<string> dropped)
    {
        Dictionary<string, string?>? tags = null;
        // Resource first, then the span's mapped attributes, then its llmcost.tag.* ones: the later wins.
        if (resource is not null)
        {
            AddMapped(resource, ref tags, dropped);
        }

        AddMapped(span, ref tags, dropped);
        foreach (var attribute in span)
        {
            if (attribute.Key.StartsWith(TagAttributePrefix, StringComparison.Ordinal))
            {
                var dimension = attribute.Key[TagAttributePrefix.Length..];
                if (_dimensions.Contains(dimension))
                {
                    Add(ref tags, attribute, dimension, dropped);
                }
                else
                {
                    dropped.Add($"{attribute.Key}: {dimension} is not a configured tag dimension");
                }
            }
        }

        return tags;
    }

    private void AddMapped(RepeatedField<KeyValue> attributes, ref Dictionary<string, string?>? tags, List<string> dropped)
    {
        if (_tagAttributes.Count == 0)
        {
            return;
        }

        foreach (var attribute in attributes)
        {
            if (_tagAttributes.TryGetValue(attribute.Key, out var dimension))
            {
                Add(ref tags, attribute, dimension, dropped);
            }
        }
    }

    private static void Add(ref Dictionary<string, string?>? tags, KeyValue attribute, string dimension, List<string> dropped)
    {
        var value = Text(attribute.Value);
        if (TagValidator.IsValue(value))
        {
            (tags ??= new Dictionary<string, string?>(StringComparer.Ordinal))[dimension] = value;
        }
        else
        {
            dropped.Add($"{attribute.Key}: '{value}' is not a tag value (1 to {TagValidator.MaxValueLength} characters from letters, digits and ._-@+:)");
        }
    }

    private static string? Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>The attributes a usage span is read from, in one pass over the span's attributes.</summary>
    private struct SpanAttributes
    {
        public long? Input, OlderInput, Output, OlderOutput, CacheRead, CacheWrite, Reasoning, AudioInput, AudioOutput;
        public string? ResponseModel, RequestModel, Provider, System, ServiceTier, User, HoldId;

        public readonly bool HasUsage => Input is not null || OlderInput is not null || Output is not null || OlderOutput is not null;

        public void Add(KeyValue attribute, IDictionary<string, string[]> problems)
        {
            switch (attribute.Key)
            {
                case "gen_ai.usage.input_tokens": Input = Tokens(attribute, problems); break;
                case "gen_ai.usage.prompt_tokens": OlderInput = Tokens(attribute, problems); break;
                case "gen_ai.usage.output_tokens": Output = Tokens(attribute, problems); break;
                case "gen_ai.usage.completion_tokens": OlderOutput = Tokens(attribute, problems); break;
                case "gen_ai.usage.cache_read.input_tokens" or "gen_ai.usage.cache_read_input_tokens": CacheRead = Tokens(attribute, problems); break;
                case "gen_ai.usage.cache_creation.input_tokens" or "gen_ai.usage.cache_creation_input_tokens": CacheWrite = Tokens(attribute, problems); break;
                case "gen_ai.usage.reasoning.output_tokens" or "gen_ai.usage.reasoning_tokens": Reasoning = Tokens(attribute, problems); break;
                case "gen_ai.usage.input_audio_tokens": AudioInput = Tokens(attribute, problems); break;
                case "gen_ai.usage.output_audio_tokens": AudioOutput = Tokens(attribute, problems); break;
                case "gen_ai.response.model": ResponseModel = Text(attribute.Value); break;
                case "gen_ai.request.model": RequestModel = Text(attribute.Value); break;
                case "gen_ai.provider.name": Provider = Text(attribute.Value); break;
                case "gen_ai.system": System = Text(attribute.Value); break;
                case "openai.response.service_tier": ServiceTier = Text(attribute.Value); break;
                case "user.id": User = Text(attribute.Value); break;
                case "enduser.id": User ??= Text(attribute.Value); break;
                case HoldIdAttribute: HoldId = Text(attribute.Value); break;
            }
        }

        /// <summary>A count sent as an int (the conventions), a whole double or a decimal string (some exporters).</summary>
        private static long? Tokens(KeyValue attribute, IDictionary<string, string[]> problems)
        {
            var value = attribute.Value;
            switch (value?.ValueCase)
            {
                case AnyValue.ValueOneofCase.IntValue:
                    return value.IntValue;
                case AnyValue.ValueOneofCase.DoubleValue when value.DoubleValue == Math.Floor(value.DoubleValue) && Math.Abs(value.DoubleValue) < 1e15:
                    return (long)value.DoubleValue;
                case AnyValue.ValueOneofCase.StringValue when long.TryParse(value.StringValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed):
                    return parsed;
                default:
                    problems[attribute.Key] = [$"{attribute.Key} must be a whole number of tokens."];
                    return null;
            }
        }
    }
}
