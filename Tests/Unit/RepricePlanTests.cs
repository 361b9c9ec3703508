using LlmCostTracker.History.Repricing;
using LlmCostTracker.History.Rollups;
using LlmCostTracker.Ledger;
using LlmCostTracker.Pricing;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Unit;

/// <summary>Re-pricing's pure parts: which rows a price book changes (and which it must leave), and the Redis
/// corrections' form.</summary>
public sealed class RepricePlanTests
{
    private static readonly DateOnly Day = new(2026, 11, 10);
    private static readonly DateTimeOffset DayStart = new(2026, 11, 10, 0, 0, 0, TimeSpan.Zero);

    private static PriceBook Book(params PriceEntry[] overrides) => new PricingOptions().Build(overrides);

    private static PriceEntry Override(string model, decimal input, decimal output, DateTimeOffset from) =>
        new() { Provider = "acme", Id = model, EffectiveFrom = from, Input = input, Output = output, Source = PriceSources.Override };

    private static RollupCounters Counters(long requests, long input, long output, long cost) =>
        new() { Requests = requests, Input = input, Output = output, CostMicros = cost };

    private static UsageKey Key(string model, string user = "u", string provider = "", long band = 0, DateOnly? day = null) =>
        new(day ?? Day, user, model, provider, "standard", band);

    [Fact]
    public void A_row_at_a_corrected_price_changes_to_the_new_price()
    {
        var plan = new RepricePlan(Book(Override("acme-1", 1, 2, DayStart.AddDays(-1))), models: null);
        // Priced at the fallback when counted: 1,000 × 10 + 1,000 × 30.
        Assert.True(plan.Add(Key("acme-1"), Counters(1, 1_000, 1_000, 40_000)));
        var change = Assert.Single(plan.Changes);
        Assert.Equal((40_000, 3_000, -37_000), (change.Before, change.After, change.Delta));
    }

    [Fact]
    public void Rounding_each_request_on_its_own_is_not_a_price_change()
    {
        var plan = new RepricePlan(Book(), models: null);
        // gpt-4o: each request of 1 + 1 tokens is 12.5 µ$, counted as 13; ten priced together are 125.
        Assert.False(plan.Add(Key("gpt-4o", provider: "openai"), Counters(10, 10, 10, 130)));
        Assert.Empty(plan.Changes);
        Assert.Equal(1, plan.RowsExamined);
        Assert.True(RepricePlan.Differs(130, 124, 10));
    }

    [Fact]
    public void A_day_during_which_the_price_changes_is_left_and_listed()
    {
        var changeAt = DayStart.AddHours(15);
        var plan = new RepricePlan(Book(Override("acme-2", 1, 2, DayStart.AddDays(-5)), Override("acme-2", 5, 6, changeAt)), models: null);
        Assert.False(plan.Add(Key("acme-2"), Counters(1, 1_000, 1_000, 1)));
        Assert.Equal(new RowSkip(Day, "acme-2", changeAt), Assert.Single(plan.Skips));
        // The next day is priced at the new price.
        Assert.True(plan.Add(Key("acme-2", day: Day.AddDays(1)), Counters(1, 1_000, 1_000, 3_000)));
        Assert.Equal(11_000, Assert.Single(plan.Changes).After);
    }

    [Fact]
    public void Models_limit_the_rows_by_the_id_sent_or_the_entry_it_resolves_to()
    {
        var book = Book(Override("acme-3", 1, 2, DayStart.AddDays(-1)));
        var plan = new RepricePlan(book, ["ACME-3"]);
        Assert.True(plan.Add(Key("acme-3"), Counters(1, 1_000, 1_000, 40_000)));
        Assert.True(plan.Add(Key("acme-3-2026-08-07"), Counters(1, 1_000, 1_000, 40_000)));
        Assert.False(plan.Add(Key("acme-4"), Counters(1, 1_000, 1_000, 1)));
        Assert.Equal(2, plan.RowsExamined);
    }

    [Fact]
    public void Corrections_sum_a_users_model_day_and_leave_out_months_Redis_no_longer_holds()
    {
        var now = new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
        RowChange[] changes =
        [
            new(Key("m", band: 0), 1, 100, 150),
            new(Key("m", band: 200_000), 1, 100, 130),
            new(Key("m", day: new DateOnly(2026, 9, 30)), 1, 100, 200),
            new(Key("n", user: "v"), 1, 100, 100),
        ];
        var corrections = RepriceLedgerCall.Corrections(changes, now);
        Assert.Equal([new LedgerCorrection("u", "m", Day, 80)], corrections);
        Assert.Equal(corrections, RepriceLedgerCall.Deserialize(RepriceLedgerCall.Serialize(corrections)));
    }

    [Fact]
    public void The_script_call_is_cut_per_bucket_month_and_part_each_with_its_own_marker()
    {
        var keys = new LedgerKeys(4);
        var now = new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
        var corrections = Enumerable.Range(0, 5).Select(i => new LedgerCorrection("same-user", $"m{i}", Day, i + 1)).ToList();
        var calls = RepriceLedgerCall.Encode(keys, 7, corrections, perCall: 2, now).ToList();
        Assert.Equal(3, calls.Count);
        var bucket = keys.BucketOf("same-user");
        Assert.Equal(
            [keys.RepriceMarker(bucket, 7, "2026-11", 0), keys.RepriceMarker(bucket, 7, "2026-11", 1), keys.RepriceMarker(bucket, 7, "2026-11", 2)],
            calls.Select(c => c.Keys[0].ToString()));
        var (callKeys, args) = calls[0];
        Assert.Equal(keys.UserMonth("same-user", "2026-11"), callKeys[3].ToString());
        // Lifetime until the month's keys expire, the cost field, one user, then (position, model field, day field, delta) twice.
        Assert.Equal((long)(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero).AddDays(35) - now).TotalSeconds, (long)args[0]);
        Assert.Equal(
            new RedisValue[] { LedgerKeys.Cost, 1, "same-user", 1, LedgerKeys.ModelField("m0"), LedgerKeys.DayField(Day), 1, 1, LedgerKeys.ModelField("m1"), LedgerKeys.DayField(Day), 2 },
            args[1..]);
    }
}
