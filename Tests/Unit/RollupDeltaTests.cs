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
        delta.Add(Usage("e1", "ann", new Dictionary<string, string> { ["team"] = "search" }), 1_000, "openai", "standard", 0);
        delta.Add(Usage("e2", "bob"), 2_000, "openai", "standard", 0);
        var encoded = delta.Encode();
        var once = $"[1,{string.Join(',', LedgerKeys.Counters.Select(c => c == LedgerKeys.Requests ? 1 : 0))}]";
        var duplicate = Encoding.UTF8.GetBytes($"[{once}]");

        // Cut anywhere (a damaged or hand-made entry), it is refused as unreadable, so the writer sets it aside.
        for (var length = 0; length < encoded.Length; length++)
        {
            var cut = encoded[..length];
            var ex = Record.Exception(() => new RollupDelta().AddEncoded(cut, duplicate));
            Assert.True(ex is not null && UnreadableEntry.Is(ex), $"cut at {length} of {encoded.Length}: {ex?.GetType().Name ?? "read"}");
        }

        // A form this version does not write, and a text that is not UTF-8.
        Assert.Throws<InvalidDataException>(() => new RollupDelta().AddEncoded("Unreadable"u8));
        var annAt = encoded.AsSpan().IndexOf("ann"u8);
        var badText = encoded.ToArray();
        badText[annAt] = 0xFF;
        Assert.True(UnreadableEntry.Is(Record.Exception(() => new RollupDelta().AddEncoded(badText))!));

        // A null where a row needs its user (JSON, as a version before the binary form wrote): PostgreSQL's NOT NULL
        // would fail every round after; here the writer sets it aside.
        Assert.Throws<FormatException>(() => new RollupDelta().AddEncoded(
            """{"u":[["2026-11-28",null,"gpt-4o","openai","standard",0,1,100,0,0,0,0,10,0,10,1000]],"t":[],"e":[0]}"""u8));

        // The same duplicate listed twice: the second names a row the first already emptied.
        Assert.Throws<InvalidDataException>(() => new RollupDelta().AddEncoded(encoded, Encoding.UTF8.GetBytes($"[{once},{once}]")));
        // A duplicate past the call's events.
        Assert.Throws<InvalidDataException>(() => new RollupDelta().AddEncoded(encoded, Encoding.UTF8.GetBytes($"[{once.Replace("[1,", "[3,", StringComparison.Ordinal)}]")));
    }

    [Fact]
    public void The_binary_form_keeps_every_text_number_and_day_as_written()
    {
        var delta = new RollupDeltaBuilder();
        var longModel = new string('m', 300);
        delta.Add(Usage("e1", "zoë-ünïcode-用户") with { InputTokens = long.MaxValue / 4 }, long.MaxValue / 2, "openai", "flex", 1_000_000);
        delta.Add(Usage("e2", "zoë-ünïcode-用户") with { Model = longModel, OccurredAt = Day.AddDays(1) }, 5, "", "standard", 0);
        delta.Add(Usage("e3", "bob", new Dictionary<string, string> { ["team"] = "é", ["feature"] = "chat" }) with { CacheWrite1hInputTokens = 3 }, 7, "anthropic", "standard", 0);

        var read = new RollupDelta();
        read.AddEncoded(delta.Encode());

        var day = DateOnly.FromDateTime(Day.UtcDateTime);
        var first = read.Usage[new UsageKey(day, "zoë-ünïcode-用户", "gpt-4o", "openai", "flex", 1_000_000)];
        Assert.Equal((1, long.MaxValue / 4, long.MaxValue / 2), (first.Requests, first.Input, first.CostMicros));
        Assert.Equal(5, read.Usage[new UsageKey(day.AddDays(1), "zoë-ünïcode-用户", longModel, "", "standard", 0)].CostMicros);
        Assert.Equal(3, read.Usage[new UsageKey(day, "bob", "gpt-4o", "anthropic", "standard", 0)].CacheWrite1h);
        Assert.Equal(["feature=chat", "team=é"], read.Tags.Keys.Select(k => $"{k.Dimension}={k.Value}").Order(StringComparer.Ordinal));
        Assert.All(read.Tags, t => Assert.Equal((day, "gpt-4o", 7L, 3L), (t.Key.Day, t.Key.Model, t.Value.CostMicros, t.Value.CacheWrite1h)));
    }

    [Fact]
    public void An_entry_written_as_json_before_the_binary_form_still_reads_with_its_duplicates_taken_out()
    {
        // ann's two events in one row; the second was already counted.
        var packed = string.Join(',', LedgerKeys.Counters.Select(c => c switch
        {
            LedgerKeys.Requests => 1, LedgerKeys.Cost => 600, LedgerKeys.Input => 60, LedgerKeys.Output => 6, _ => 0,
        }));
        var read = new RollupDelta();
        read.AddEncoded(
            """{"u":[["2026-11-28","ann","gpt-4o","openai","standard",0,2,160,0,0,0,0,16,0,0,1600]],"t":[],"e":[0,0]}"""u8,
            Encoding.UTF8.GetBytes($"[[2,{packed}]]"));

        var row = Assert.Single(read.Usage);
        Assert.Equal(new UsageKey(new DateOnly(2026, 11, 28), "ann", "gpt-4o", "openai", "standard", 0), row.Key);
        Assert.Equal((1, 100, 10, 1_000), (row.Value.Requests, row.Value.Input, row.Value.Output, row.Value.CostMicros));
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
