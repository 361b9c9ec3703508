using System.Text.Json;
using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Unit;

public sealed class LlmUsageWireConverterTests
{
    // The services' message settings on options like MassTransit's (camelCase names, read case-insensitively).
    private static readonly JsonSerializerOptions Wire = MessageJson.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    private static readonly LlmUsage Usage = new()
    {
        EventId = "evt-1",
        UserId = "user-\"quoted\"",
        Model = "gpt-4o",
        InputTokens = 9_007_199_254_740_993,
        CachedInputTokens = 200,
        OutputTokens = 350,
        OccurredAt = new DateTimeOffset(2026, 11, 27, 13, 14, 15, 678, TimeSpan.FromHours(2)),
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };

    [Fact]
    public void A_message_carries_each_event_as_an_array_and_reads_it_back_unchanged()
    {
        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [Usage, Usage with { TraceParent = null }] }, Wire);

        Assert.Equal(
            """{"events":[["evt-1","user-\u0022quoted\u0022","gpt-4o",9007199254740993,200,350,"2026-11-27T13:14:15.678+02:00","00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],["evt-1","user-\u0022quoted\u0022","gpt-4o",9007199254740993,200,350,"2026-11-27T13:14:15.678+02:00",null]]}""",
            json);
        var back = JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!;
        Assert.Equal([Usage, Usage with { TraceParent = null }], back.Events);
    }

    [Fact]
    public void Billing_details_follow_the_trace_parent_only_for_an_event_that_has_them()
    {
        var billed = Usage with { EventId = "evt-2", CacheWriteInputTokens = 50, ReasoningOutputTokens = 120, ServiceTier = "batch", Provider = "anthropic" };

        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [Usage, billed] }, Wire);

        // The second event shares the first's trace parent: its billing details come after a 0 in its place.
        Assert.EndsWith(
            """["evt-2","user-\u0022quoted\u0022","gpt-4o",9007199254740993,200,350,"2026-11-27T13:14:15.678+02:00",0,50,120,"batch","anthropic"]]}""",
            json);
        Assert.Equal(1, json.Split(Usage.TraceParent).Length - 1);
        Assert.Equal([Usage, billed], JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events);
    }

    [Fact]
    public void A_budget_hold_id_follows_the_billing_details_and_reads_back()
    {
        var held = Usage with { EventId = "evt-3", HoldId = "hold-7" };

        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [held] }, Wire);

        Assert.EndsWith(""",0,0,null,null,"hold-7"]]}""", json);
        Assert.Equal([held], JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events);
    }

    [Fact]
    public void Tags_follow_the_hold_id_as_an_object_and_read_back()
    {
        var tagged = Usage with { EventId = "evt-4", Tags = new Dictionary<string, string> { ["feature"] = "sum", ["team"] = "search" } };
        var both = Usage with { EventId = "evt-5", HoldId = "hold-8", Tags = new Dictionary<string, string> { ["team"] = "a\"b" } };

        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [tagged, both] }, Wire);

        Assert.Contains(""",0,0,null,null,null,{"feature":"sum","team":"search"}]""", json, StringComparison.Ordinal);
        Assert.EndsWith(""",0,0,null,null,"hold-8",{"team":"a\u0022b"}]]}""", json);
        var read = JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events;
        Assert.Equal(2, read.Count);
        Assert.Equal(tagged.Tags, read[0].Tags);
        Assert.Equal(both.Tags, read[1].Tags);
        Assert.Equal("hold-8", read[1].HoldId);
        Assert.Equal(tagged with { Tags = null }, read[0] with { Tags = null });
    }

    [Fact]
    public void One_hour_cache_writes_and_audio_follow_the_tags_and_read_back()
    {
        var audio = Usage with { EventId = "evt-6", CacheWriteInputTokens = 60, CacheWrite1hInputTokens = 40, AudioInputTokens = 30, AudioOutputTokens = 20 };
        var tagged = audio with { EventId = "evt-7", HoldId = "hold-9", Tags = new Dictionary<string, string> { ["team"] = "voice" } };

        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [audio, tagged] }, Wire);

        // Without tags their position holds null, so the three counts keep theirs.
        Assert.Contains(""",60,0,null,null,null,null,40,30,20]""", json, StringComparison.Ordinal);
        Assert.EndsWith(""",60,0,null,null,"hold-9",{"team":"voice"},40,30,20]]}""", json);
        var read = JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events;
        Assert.Equal(audio, read[0]);
        Assert.Equal(tagged.Tags, read[1].Tags);
        Assert.Equal(tagged with { Tags = null }, read[1] with { Tags = null });
    }

    [Fact]
    public void Events_with_the_same_tags_share_one_read_only_set_and_a_long_set_still_reads_exactly()
    {
        var team = new Dictionary<string, string> { ["team"] = "search", ["feature"] = "sum" };
        var other = new Dictionary<string, string> { ["team"] = "search", ["feature"] = "chat" };
        var huge = Enumerable.Range(0, 20).ToDictionary(i => $"dimension-{i}", i => new string((char)('a' + i), 64));
        var events = new[] { team, other, team, huge, huge }.Select((tags, i) => Usage with { EventId = $"evt-{i}", Tags = tags }).ToList();

        var read = JsonSerializer.Deserialize<LlmUsageRecorded>(JsonSerializer.Serialize(new LlmUsageRecorded { Events = events }, Wire), Wire)!.Events;

        Assert.Equal([team, other, team, huge, huge], read.Select(e => e.Tags!));
        Assert.Same(read[0].Tags, read[2].Tags);
        Assert.NotSame(read[0].Tags, read[1].Tags);
        // Past TagSetPool.MaxKeyLength a set is read on its own, not pooled.
        Assert.NotSame(read[3].Tags, read[4].Tags);
    }

    [Fact]
    public void Events_share_one_instance_of_each_user_model_provider_and_tier_and_a_long_one_still_reads_exactly()
    {
        var longUser = new string('u', 300);
        var events = new[]
        {
            Usage with { EventId = "evt-1", Provider = "openai", ServiceTier = "flex" },
            Usage with { EventId = "evt-2", Provider = "openai", ServiceTier = "flex" },
            Usage with { EventId = "evt-3", UserId = longUser },
            Usage with { EventId = "evt-4", UserId = longUser },
        };

        var read = JsonSerializer.Deserialize<LlmUsageRecorded>(JsonSerializer.Serialize(new LlmUsageRecorded { Events = events }, Wire), Wire)!.Events;

        Assert.Equal(events, read);
        // The escaped quotes of Usage's user id are read as text, then shared.
        Assert.Same(read[0].UserId, read[1].UserId);
        Assert.Same(read[0].Model, read[3].Model);
        Assert.Same(read[0].Provider, read[1].Provider);
        Assert.Same(read[0].ServiceTier, read[1].ServiceTier);
        // Past SharedStrings.MaxBytes a string is read on its own.
        Assert.NotSame(read[2].UserId, read[3].UserId);
    }

    [Fact]
    public void Events_that_share_a_trace_parent_write_it_once_and_read_it_back_on_each()
    {
        LlmUsage[] events = [Usage, Usage with { EventId = "evt-2" }, Usage with { EventId = "evt-3", TraceParent = null }, Usage with { EventId = "evt-4", TraceParent = null }];

        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = events }, Wire);

        Assert.Equal(1, json.Split(Usage.TraceParent).Length - 1);
        Assert.Contains("""["evt-2","user-\u0022quoted\u0022","gpt-4o",9007199254740993,200,350,"2026-11-27T13:14:15.678+02:00"]""", json, StringComparison.Ordinal);
        Assert.Contains("""["evt-3","user-\u0022quoted\u0022","gpt-4o",9007199254740993,200,350,"2026-11-27T13:14:15.678+02:00",null]""", json, StringComparison.Ordinal);
        Assert.Equal(events, JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events);
        // A first event of seven values has no trace parent before it.
        Assert.Null(Assert.Single(JsonSerializer.Deserialize<LlmUsageRecorded>(
            """{"events":[["evt-1","u","m",1,0,1,"2026-11-27T00:00:00Z"]]}""", Wire)!.Events).TraceParent);
    }

    [Fact]
    public void A_null_string_round_trips_as_in_the_object_form_so_a_poison_message_still_reaches_its_fault()
    {
        var poison = Usage with { Model = null! };

        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [poison] }, Wire);

        Assert.Null(Assert.Single(JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events).Model);
    }

    [Fact]
    public void The_object_form_of_earlier_messages_and_other_senders_still_reads()
    {
        var json = JsonSerializer.Serialize(new LlmUsageRecorded { Events = [Usage] }, JsonSerializerOptions.Web);

        Assert.Contains("\"eventId\":\"evt-1\"", json, StringComparison.Ordinal);
        Assert.Equal([Usage], JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire)!.Events);
    }

    [Theory]
    [InlineData("""{"Events":[["evt-1","u","m",1,0,1]]}""")]
    [InlineData("""{"Events":[["evt-1","u","m",1,0,1,"2026-11-27T00:00:00Z",null,"extra"]]}""")]
    [InlineData("""{"Events":[["evt-1","u","m","1",0,1,"2026-11-27T00:00:00Z",null]]}""")]
    [InlineData("""{"Events":[["evt-1",7,"m",1,0,1,"2026-11-27T00:00:00Z",null]]}""")]
    [InlineData("""{"Events":["evt-1"]}""")]
    public void A_malformed_event_fails_the_message(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<LlmUsageRecorded>(json, Wire));
    }
}
