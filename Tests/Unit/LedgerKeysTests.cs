using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;

namespace LlmCostTracker.Tests.Unit;

public sealed class LedgerKeysTests
{
    [Fact]
    public void A_model_field_holds_cost_input_cached_output_requests_cache_writes_reasoning_in_that_order()
    {
        Assert.Equal("model|gpt-4o", LedgerKeys.ModelField("gpt-4o"));
        Assert.Equal([9_007_199_254_740_991, 2, 0, 4, 5, 6, 7], LedgerKeys.ParseModelCounters("9007199254740991,2,0,4,5,6,7"));
        // Only the API validates events; a field summed from a hand-published negative count still reads back.
        Assert.Equal([-10, 2, 3, 4, 1, 0, 0], LedgerKeys.ParseModelCounters("-10,2,3,4,1,0,0"));
    }

    [Fact]
    public void A_model_field_written_before_cache_writes_and_reasoning_reads_them_as_zero() =>
        Assert.Equal([10, 2, 3, 4, 1, 0, 0], LedgerKeys.ParseModelCounters("10,2,3,4,1"));

    [Theory]
    [InlineData("")]
    [InlineData("1,2,3,4")]
    [InlineData("1,2,3,4,5,6")]
    [InlineData("1,2,3,4,5,6,7,8")]
    [InlineData("1,2,x,4,5")]
    [InlineData("1.5,2,3,4,5")]
    public void A_model_field_that_is_not_five_integers_is_refused(string value) =>
        Assert.Throws<FormatException>(() => LedgerKeys.ParseModelCounters(value));
}

public sealed class LedgerBucketTests
{
    [Theory]
    [InlineData("", 0x811c9dc5u)]
    [InlineData("a", 0xe40c292cu)]
    [InlineData("foobar", 0xbf9cf968u)]
    public void The_bucket_hash_is_32_bit_FNV_1a_of_the_utf8_bytes(string text, uint expected) =>
        Assert.Equal(expected, LedgerKeys.Fnv1a(text));

    [Fact]
    public void A_users_keys_and_their_buckets_month_keys_share_one_hash_tag()
    {
        var keys = new LedgerKeys(16);
        var bucket = keys.BucketOf("user-42");
        var tag = $"{{llmcost:b{bucket}}}:";

        Assert.InRange(bucket, 0, 15);
        Assert.All(
            [keys.UserMonth("user-42", "2026-12"), keys.UserBudget("user-42"), keys.MonthTotals(bucket, "2026-12"),
             keys.MonthUsers(bucket, "2026-12"), keys.Claims(bucket, "151200:11712")],
            key => Assert.StartsWith(tag, key));
    }

    [Fact]
    public void Users_spread_over_every_bucket()
    {
        var keys = new LedgerKeys(16);
        var counts = Enumerable.Range(0, 16_000).GroupBy(i => keys.BucketOf($"user-{i}")).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(16, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 800, 1_200));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_025)]
    public void A_bucket_count_outside_1_to_1024_is_refused(int buckets) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new LedgerKeys(buckets));

    [Fact]
    public void The_stored_layout_must_match()
    {
        var keys = new LedgerKeys(16);
        keys.EnsureMatchesStored(null);
        keys.EnsureMatchesStored("16");
        var refused = Assert.Throws<InvalidOperationException>(() => keys.EnsureMatchesStored("8"));
        Assert.Contains("set Ledger:Buckets=8", refused.Message);
    }
}
