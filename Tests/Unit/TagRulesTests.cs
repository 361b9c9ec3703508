using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.CostTracking;

namespace LlmCostTracker.Tests.Unit;

public sealed class TagRulesTests
{
    private static readonly string[] Dimensions = ["environment", "feature", "team"];

    private static (IReadOnlyDictionary<string, string>? Tags, Dictionary<string, string[]> Errors) Check(Dictionary<string, string?> tags)
    {
        var errors = new Dictionary<string, string[]>();
        return (TagValidator.Check(tags, Dimensions, "events[2].", errors), errors);
    }

    [Fact]
    public void Configured_dimensions_with_good_values_are_kept_in_dimension_order()
    {
        var (tags, errors) = Check(new() { ["team"] = "search", ["feature"] = "a.b-c_d@e+f:g", ["environment"] = new string('x', 64) });
        Assert.Empty(errors);
        Assert.Equal(["environment", "feature", "team"], tags!.Keys);
        Assert.Equal("a.b-c_d@e+f:g", tags["feature"]);
    }

    [Fact]
    public void A_batch_reads_equal_tags_into_one_shared_set_that_the_check_passes_on_as_it_is()
    {
        var batch = JsonSerializer.Deserialize("""
            {"events":[
              {"eventId":"a","tags":{"team":"search","feature":"sum"}},
              {"eventId":"b","tags":{"team":"search","feature":"sum"}},
              {"eventId":"c","tags":{"team":null}},
              {"eventId":"d","tags":{"team":"search","team":"ads"}}
            ]}
            """, LlmCostTracker.ApiService.Ingestion.IngestRequestJson.Context.UsageBatchBody)!;

        var (a, b, c, d) = (batch.Events![0]!.Tags!, batch.Events[1]!.Tags!, batch.Events[2]!.Tags!, batch.Events[3]!.Tags!);
        Assert.Same(a, b);
        Assert.Equal(["feature", "team"], a.Keys);
        var (checkedTags, errors) = Check(a);
        Assert.Empty(errors);
        Assert.Same(a, checkedTags);
        // Checked again (its verdict kept), and against other dimensions (checked anew).
        Assert.Same(a, Check(b).Tags);
        var otherErrors = new Dictionary<string, string[]>();
        Assert.Null(TagValidator.Check(a, ["team"], "", otherErrors));
        Assert.Equal(["tags"], otherErrors.Keys);
        // On the broker a pooled set is written as its stored JSON, and reads back the same.
        var usage = new LlmUsage { EventId = "a", UserId = "u", Model = "m", InputTokens = 1, CachedInputTokens = 0, OutputTokens = 1, OccurredAt = DateTimeOffset.UnixEpoch, Tags = checkedTags };
        var wire = MessageJson.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));
        var back = JsonSerializer.Deserialize<LlmUsageRecorded>(JsonSerializer.Serialize(new LlmUsageRecorded { Events = [usage, usage with { EventId = "b" }] }, wire), wire)!;
        Assert.All(back.Events, e => Assert.Equal(checkedTags!.OrderBy(t => t.Key), e.Tags!.OrderBy(t => t.Key)));
        // What the pool does not take is read as before, for the check to name: a null value; a name given twice
        // keeps its last value.
        Assert.Null(c["team"]);
        Assert.Equal(["events[2].tags.team"], Check(c).Errors.Keys);
        Assert.Equal("ads", Assert.Single(d).Value);
    }

    [Fact]
    public void A_tag_value_that_is_not_a_string_is_refused_by_the_reader()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize("""{"eventId":"a","tags":{"team":5}}""",
            LlmCostTracker.ApiService.Ingestion.IngestRequestJson.Context.UsageEventBody));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize("""{"eventId":"a","tags":["team"]}""",
            LlmCostTracker.ApiService.Ingestion.IngestRequestJson.Context.UsageEventBody));
    }

    [Theory]
    [InlineData("team", "", "events[2].tags.team")]
    [InlineData("team", null, "events[2].tags.team")]
    [InlineData("team", "has space", "events[2].tags.team")]
    [InlineData("team", "(other)", "events[2].tags.team")]
    [InlineData("team", "ünïcode", "events[2].tags.team")]
    [InlineData("region", "eu", "events[2].tags")]
    [InlineData("Team", "search", "events[2].tags")]
    [InlineData("team:x", "search", "events[2].tags")]
    public void A_bad_value_names_its_dimension_and_an_unknown_dimension_names_the_tags(string dimension, string? value, string field)
    {
        var (tags, errors) = Check(new() { [dimension] = value });
        Assert.Null(tags);
        Assert.Equal([field], errors.Keys);
    }

    [Fact]
    public void A_value_of_65_characters_and_more_than_five_tags_are_refused()
    {
        Assert.Equal(["events[2].tags.team"], Check(new() { ["team"] = new string('x', 65) }).Errors.Keys);
        var six = Enumerable.Range(0, 6).ToDictionary(i => $"d{i}", string? (_) => "v");
        var errors = new Dictionary<string, string[]>();
        Assert.Null(TagValidator.Check(six, null, "", errors));
        Assert.Equal(["tags"], errors.Keys);
    }

    [Fact]
    public void Without_configured_dimensions_any_well_formed_dimension_passes()
    {
        var errors = new Dictionary<string, string[]>();
        Assert.Equal("eu", TagValidator.Check(new Dictionary<string, string?> { ["region"] = "eu" }, null, "", errors)!["region"]);
        Assert.Empty(errors);
    }

    [Fact]
    public void Merged_tags_take_the_last_layers_value_and_leave_off_what_the_api_would_refuse()
    {
        var tags = TagMerge.Merge(Dimensions, out var leftOff,
            [new("environment", "prod"), new("team", "config")],
            null,
            [new("team", "outer"), new("region", "eu")],
            [new("team", "inner"), new("feature", "bad value")]);

        Assert.Equal(new Dictionary<string, string> { ["environment"] = "prod", ["team"] = "inner" }, tags);
        Assert.Equal(2, leftOff);
    }

    [Fact]
    public void Past_five_merged_tags_the_earliest_set_are_left_off()
    {
        string[] dimensions = ["a", "b", "c", "d", "e", "f", "g"];
        var tags = TagMerge.Merge(dimensions, out var leftOff,
            [new("a", "1"), new("b", "1"), new("c", "1")],
            [new("d", "2"), new("e", "2"), new("f", "2"), new("a", "2")]);

        Assert.Equal(["a", "c", "d", "e", "f"], tags!.Keys.Order());
        Assert.Equal("2", tags["a"]);
        // Six dimensions once a's later value replaced its first: b, set earliest, is the one left off.
        Assert.Equal(1, leftOff);
    }

    [Fact]
    public void No_tags_merge_to_null()
    {
        Assert.Null(TagMerge.Merge(Dimensions, out var leftOff, null, []));
        Assert.Equal(0, leftOff);
    }

    [Fact]
    public void Ambient_tags_nest_and_restore_across_awaits()
    {
        Assert.Empty(CostTrackingContext.CurrentTags);
        using (CostTrackingContext.Tag("team", "outer"))
        {
            using (CostTrackingContext.Tag("team", "inner"))
            using (CostTrackingContext.Tag("feature", "sum"))
            {
                Assert.Equal([new("team", "outer"), new("team", "inner"), new("feature", "sum")], CostTrackingContext.CurrentTags);
            }

            Assert.Equal([new KeyValuePair<string, string>("team", "outer")], CostTrackingContext.CurrentTags);
        }

        Assert.Empty(CostTrackingContext.CurrentTags);
    }
}
