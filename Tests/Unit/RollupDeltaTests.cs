using System.Text;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.History.Exports;
using LlmCostTracker.History.Reports;
using LlmCostTracker.History.Rollups;

namespace LlmCostTracker.Tests.Unit;

public sealed class RollupDeltaTests
{
    private static readonly DateTimeOffset Day = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Events_of_one_row_sum_and_an_encoded_delta_adds_back_the_same_rows()
    {
        var delta = new RollupDeltaBuilder();
        delta.Add(Usage("e1", "ann", tags: new Dictionary<string, string> { ["team"] = "search" }), 1_250, "openai", "standard", 0);
        delta.Add(Usage("e2", "ann", tags: new Dictionary<string, string> { ["team"] = "search" }), 1_250, "openai", "standard", 0);
        delta.Add(Usage("e3", "ann"), 9_000, "openai", "batch", 200_000);

        var read = new RollupDelta();
        read.AddEncoded(delta.Encode());
        read.AddEncoded(delta.Encode());

        Assert.Equal(2, read.Usage.Count);
        var standard = read.Usage[new UsageKey(DateOnly.FromDateTime(Day.UtcDateTime), "ann", "gpt-4o", "openai", "standard", 0)];
        Assert.Equal((4, 5_000, 400, 40), (standard.Requests, standard.CostMicros, standard.Input, standard.AudioOutput));
        var tag = Assert.Single(read.Tags);
        Assert.Equal(new TagKey(DateOnly.FromDateTime(Day.UtcDateTime), "team", "search", "gpt-4o"), tag.Key);
        Assert.Equal(4, tag.Value.Requests);
    }

    [Fact]
    public void The_duplicates_a_ledger_call_lists_beside_its_delta_are_taken_out_of_their_rows()
    {
        // Call order: e1 (tagged, with audio), e2 (untagged, alone in its row), e3 (tagged, a row shared with e1).
        var delta = new RollupDeltaBuilder();
        var tags = new Dictionary<string, string> { ["team"] = "search", ["feature"] = "chat" };
        delta.Add(Usage("e1", "ann", tags), 1_000, "openai", "standard", 0);
        delta.Add(Usage("e2", "bob") with { AudioOutputTokens = 0 }, 2_000, "openai", "standard", 0);
        delta.Add(Usage("e3", "ann", tags) with { InputTokens = 300, CacheWrite1hInputTokens = 7 }, 3_000, "openai", "standard", 0);

        // As the script writes them: position, then the packed counters in LedgerKeys.Counters' order.
        string Packed(int position, long cost, long input, long cached, long output, long cacheWrite, long reasoning) =>
            $"[{position},{string.Join(',', LedgerKeys.Counters.Select(c => c switch
            {
                LedgerKeys.Cost => cost, LedgerKeys.Input => input, LedgerKeys.Cached => cached, LedgerKeys.Output => output,
                LedgerKeys.Requests => 1, LedgerKeys.CacheWrite => cacheWrite, LedgerKeys.Reasoning => reasoning, _ => throw new InvalidOperationException(c),
            }))}]";
        var read = new RollupDelta();
        read.AddEncoded(delta.Encode(), Encoding.UTF8.GetBytes($"[{Packed(2, 2_000, 100, 0, 10, 0, 0)},{Packed(3, 3_000, 300, 0, 10, 0, 0)}]"));

        // Only e1 is left: bob's row had only a duplicate and goes; ann's and the tag rows hold e1 alone.
        var day = DateOnly.FromDateTime(Day.UtcDateTime);
        var ann = Assert.Single(read.Usage);
        Assert.Equal(new UsageKey(day, "ann", "gpt-4o", "openai", "standard", 0), ann.Key);
        Assert.Equal((1, 1_000, 100, 10, 0, 10), (ann.Value.Requests, ann.Value.CostMicros, ann.Value.Input, ann.Value.Output, ann.Value.CacheWrite1h, ann.Value.AudioOutput));
        Assert.Equal(2, read.Tags.Count);
        Assert.All(read.Tags.Values, t => Assert.Equal((1, 1_000, 100, 0, 10), (t.Requests, t.CostMicros, t.Input, t.CacheWrite1h, t.AudioOutput)));

        // Without the duplicates, every event counts.
        var all = new RollupDelta();
        all.AddEncoded(delta.Encode());
        Assert.Equal((2, 4_000, 7), (all.Usage[ann.Key].Requests, all.Usage[ann.Key].CostMicros, all.Usage[ann.Key].CacheWrite1h));
    }

    [Fact]
    public void An_entry_no_ledger_call_writes_is_refused_as_unreadable_before_anything_reaches_the_database()
    {
        var delta = new RollupDeltaBuilder();
        delta.Add(Usage("e1", "ann"), 1_000, "openai", "standard", 0);
        var encoded = Encoding.UTF8.GetString(delta.Encode());
        Assert.Contains("\"ann\"", encoded, StringComparison.Ordinal);

        // A null where a row needs its user: PostgreSQL's NOT NULL would fail every round after; here the writer sets it aside.
        Assert.Throws<FormatException>(() => new RollupDelta().AddEncoded(Encoding.UTF8.GetBytes(encoded.Replace("\"ann\"", "null", StringComparison.Ordinal))));

        // The same duplicate listed twice: the second names a row the first already emptied.
        var once = $"[1,{string.Join(',', LedgerKeys.Counters.Select(c => c == LedgerKeys.Requests ? 1 : 0))}]";
        Assert.Throws<InvalidDataException>(() => new RollupDelta().AddEncoded(delta.Encode(), Encoding.UTF8.GetBytes($"[{once},{once}]")));
    }

    [Fact]
    public void A_tag_row_written_before_tags_kept_the_model_reads_with_no_model()
    {
        var read = new RollupDelta();
        read.AddEncoded("""{"u":[],"t":[["2026-11-28","team","search",2,200,0,0,0,0,20,0,0,2500]]}"""u8);
        var tag = Assert.Single(read.Tags);
        Assert.Equal(new TagKey(new DateOnly(2026, 11, 28), "team", "search", ""), tag.Key);
        Assert.Equal((2, 200, 20, 2_500), (tag.Value.Requests, tag.Value.Input, tag.Value.Output, tag.Value.CostMicros));
    }

    [Fact]
    public void Stream_ids_order_by_time_then_sequence()
    {
        Assert.True(StreamEntryId.Parse("1700000000000-2") > StreamEntryId.Parse("1700000000000-1"));
        Assert.True(StreamEntryId.Parse("1700000000001-0") > StreamEntryId.Parse("1700000000000-9"));
        Assert.Equal("1700000000000-3", StreamEntryId.Parse("1700000000000-2").Next.ToString());
    }

    [Fact]
    public void Csv_quotes_what_needs_it_and_writes_exact_dollars()
    {
        var row = new UsageExportRow(new DateOnly(2026, 11, 28), "ann", "odd,\"model\"", "", "standard", 0, 1, 100, 0, 0, 0, 0, 10, 0, 0, 1_234_567);
        var line = UsageExport.Line(UsageExport.Csv, row);
        Assert.Equal("2026-11-28,ann,\"odd,\"\"model\"\"\",,standard,0,1,100,0,0,0,0,10,0,0,1.234567\r\n", line);
        Assert.Equal(UsageExport.FocusColumns.Length, UsageExport.Header(UsageExport.Focus).Split(',').Length);
    }

    private static LlmUsage Usage(string eventId, string userId, IReadOnlyDictionary<string, string>? tags = null) => new()
    {
        EventId = eventId, UserId = userId, Model = "gpt-4o", InputTokens = 100, CachedInputTokens = 0, OutputTokens = 10,
        AudioOutputTokens = 10, OccurredAt = Day, Tags = tags,
    };
}
