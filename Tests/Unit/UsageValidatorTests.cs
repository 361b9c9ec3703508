using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Unit;

public sealed class UsageValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static (Contracts.LlmUsage? Usage, Dictionary<string, string[]> Errors) Validate(UsageEventRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        return (UsageValidator.Validate(request, Now, () => "generated", "", errors), errors);
    }

    private static UsageEventRequest Valid => new(null, "alice@example.com", "gpt-4o", 1000, 500, 200, null);

    [Fact]
    public void A_valid_event_is_accepted_with_a_generated_id_and_the_current_time()
    {
        var (usage, errors) = Validate(Valid);
        Assert.Empty(errors);
        Assert.Equal("generated", usage!.EventId);
        Assert.Equal(Now, usage.OccurredAt);
        Assert.Equal(200, usage.CachedInputTokens);
    }

    [Theory]
    [InlineData(null, "userId")]
    [InlineData("", "userId")]
    [InlineData("a b", "userId")]
    [InlineData("a{b}", "userId")]
    [InlineData("a*", "userId")]
    [InlineData("a\nb", "userId")]
    [InlineData("é", "userId")]
    public void Bad_user_ids_are_named(string? userId, string field)
    {
        var (usage, errors) = Validate(Valid with { UserId = userId });
        Assert.Null(usage);
        Assert.Contains(field, errors.Keys);
    }

    [Fact]
    public void User_id_may_hold_128_safe_characters_but_not_129()
    {
        Assert.Empty(Validate(Valid with { UserId = new string('a', 122) + "._-@+:" }).Errors);
        Assert.Contains("userId", Validate(Valid with { UserId = new string('a', 129) }).Errors.Keys);
        Assert.Contains("eventId", Validate(Valid with { EventId = new string('a', 129) }).Errors.Keys);
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(100_000_001L)]
    public void Token_counts_outside_0_to_100M_are_named(long tokens)
    {
        var errors = Validate(Valid with { InputTokens = tokens, OutputTokens = tokens, CachedInputTokens = null }).Errors;
        Assert.Contains("inputTokens", errors.Keys);
        Assert.Contains("outputTokens", errors.Keys);
    }

    [Fact]
    public void Cached_tokens_cannot_exceed_input_tokens() =>
        Assert.Contains("cachedInputTokens", Validate(Valid with { InputTokens = 10, CachedInputTokens = 11 }).Errors.Keys);

    [Fact]
    public void Billing_fields_are_accepted_and_the_tier_normalized()
    {
        var (usage, errors) = Validate(Valid with { CacheWriteInputTokens = 800, ReasoningOutputTokens = 500, ServiceTier = "Batch", Provider = "aws.bedrock" });

        Assert.Empty(errors);
        Assert.Equal((800L, 500L, "batch", "aws.bedrock"), (usage!.CacheWriteInputTokens, usage.ReasoningOutputTokens, usage.ServiceTier, usage.Provider));
        Assert.Null(Validate(Valid with { ServiceTier = "standard" }).Usage!.ServiceTier);
    }

    [Theory]
    [InlineData(801L, null, null, null, "cacheWriteInputTokens")]   // 200 cached + 801 written > 1,000 input
    [InlineData(-1L, null, null, null, "cacheWriteInputTokens")]
    [InlineData(null, 501L, null, null, "reasoningOutputTokens")]   // more than the 500 output tokens
    [InlineData(null, null, "express", null, "serviceTier")]
    [InlineData(null, null, null, "OpenAI", "provider")]
    [InlineData(null, null, null, "", "provider")]
    public void Inconsistent_billing_fields_are_named(long? cacheWrite, long? reasoning, string? tier, string? provider, string field) =>
        Assert.Equal([field], Validate(Valid with { CacheWriteInputTokens = cacheWrite, ReasoningOutputTokens = reasoning, ServiceTier = tier, Provider = provider }).Errors.Keys);

    [Theory]
    [InlineData(300L, 0L, 0L, null)]
    [InlineData(301L, 0L, 0L, "cacheWrite1hInputTokens")]   // more than the 300 written
    [InlineData(0L, 500L, 0L, null)]                         // 1,000 input less 200 cached less 300 written
    [InlineData(0L, 501L, 0L, "audioInputTokens")]
    [InlineData(0L, 0L, 500L, null)]
    [InlineData(0L, 0L, 501L, "audioOutputTokens")]          // more than the 500 output tokens
    [InlineData(-1L, 0L, 0L, "cacheWrite1hInputTokens")]
    public void One_hour_cache_writes_and_audio_are_parts_of_their_totals(long cacheWrite1h, long audioIn, long audioOut, string? field)
    {
        var (usage, errors) = Validate(Valid with { CacheWriteInputTokens = 300, CacheWrite1hInputTokens = cacheWrite1h, AudioInputTokens = audioIn, AudioOutputTokens = audioOut });

        Assert.Equal(field is null ? [] : [field], errors.Keys);
        if (field is null)
        {
            Assert.Equal((cacheWrite1h, audioIn, audioOut), (usage!.CacheWrite1hInputTokens, usage.AudioInputTokens, usage.AudioOutputTokens));
        }
    }

    [Fact]
    public void Missing_fields_are_each_named()
    {
        var errors = Validate(new UsageEventRequest(null, null, null, null, null, null, null)).Errors;
        Assert.Equal(["inputTokens", "model", "outputTokens", "userId"], errors.Keys.Order());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("gpt\u00014o")]
    public void Models_must_be_printable(string model) =>
        Assert.Contains("model", Validate(Valid with { Model = model }).Errors.Keys);

    [Fact]
    public void Model_is_at_most_200_characters()
    {
        Assert.Empty(Validate(Valid with { Model = new string('m', 200) }).Errors);
        Assert.Contains("model", Validate(Valid with { Model = new string('m', 201) }).Errors.Keys);
    }

    [Fact]
    public void OccurredAt_is_bounded_by_5_minutes_ahead_and_35_days_back()
    {
        Assert.Empty(Validate(Valid with { OccurredAt = Now.AddMinutes(5) }).Errors);
        Assert.Contains("occurredAt", Validate(Valid with { OccurredAt = Now.AddMinutes(5).AddSeconds(1) }).Errors.Keys);
        Assert.Empty(Validate(Valid with { OccurredAt = Now.AddDays(-35) }).Errors);
        Assert.Contains("occurredAt", Validate(Valid with { OccurredAt = Now.AddDays(-35).AddSeconds(-1) }).Errors.Keys);
    }

    [Fact]
    public void Batch_errors_carry_the_event_index()
    {
        var errors = new Dictionary<string, string[]>();
        UsageValidator.Validate(Valid with { UserId = "bad id", InputTokens = null, ServiceTier = "gold" }, Now, () => "x", "events[3].", errors);
        Assert.Equal(["events[3].inputTokens", "events[3].serviceTier", "events[3].userId"], errors.Keys.Order());
        // The message names the field alone, as for a single event.
        Assert.StartsWith("userId must be", errors["events[3].userId"][0]);
        Assert.Equal("inputTokens is required.", errors["events[3].inputTokens"][0]);
    }

    [Fact]
    public void The_trace_parent_given_is_the_accepted_events()
    {
        const string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var usage = UsageValidator.Validate(Valid, Now, () => "x", "", new Dictionary<string, string[]>(), traceParent: parent);
        Assert.Equal(parent, usage!.TraceParent);
        Assert.Null(Validate(Valid).Usage!.TraceParent);
    }

    [Fact]
    public void The_body_the_API_reads_has_the_fields_of_the_public_request()
    {
        // The API reads UsageEventBody (settable properties, System.Text.Json's fast path) and OpenAPI shows the
        // record: the two must not drift apart.
        static string[] Fields(Type type) => type.GetProperties().Where(p => p.Name != "EqualityContract")
            .Select(p => $"{p.Name}:{p.PropertyType}").Order().ToArray();
        Assert.Equal(Fields(typeof(UsageEventRequest)), Fields(typeof(LlmCostTracker.ApiService.Ingestion.UsageEventBody)));

        var body = new LlmCostTracker.ApiService.Ingestion.UsageEventBody
        {
            EventId = "e", UserId = "u", Model = "m", InputTokens = 1, OutputTokens = 2, CachedInputTokens = 3, OccurredAt = Now,
            CacheWriteInputTokens = 4, ReasoningOutputTokens = 5, ServiceTier = "flex", Provider = "openai", HoldId = "h",
            Tags = new() { ["team"] = "t" }, CacheWrite1hInputTokens = 6, AudioInputTokens = 7, AudioOutputTokens = 8,
        };
        var request = body.ToRequest();
        foreach (var property in typeof(LlmCostTracker.ApiService.Ingestion.UsageEventBody).GetProperties())
        {
            Assert.Equal(property.GetValue(body), typeof(UsageEventRequest).GetProperty(property.Name)!.GetValue(request));
        }
    }
}
