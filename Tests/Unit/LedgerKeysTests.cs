using LlmCostTracker.Contracts;

namespace LlmCostTracker.Tests.Unit;

public sealed class LedgerKeysTests
{
    [Fact]
    public void A_model_field_holds_cost_input_cached_output_requests_in_that_order()
    {
        Assert.Equal("model|gpt-4o", LedgerKeys.ModelField("gpt-4o"));
        Assert.Equal([9_007_199_254_740_991, 2, 0, 4, 5], LedgerKeys.ParseModelCounters("9007199254740991,2,0,4,5"));
        // Only the API validates events; a field summed from a hand-published negative count still reads back.
        Assert.Equal([-10, 2, 3, 4, 1], LedgerKeys.ParseModelCounters("-10,2,3,4,1"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1,2,3,4")]
    [InlineData("1,2,3,4,5,6")]
    [InlineData("1,2,x,4,5")]
    [InlineData("1.5,2,3,4,5")]
    public void A_model_field_that_is_not_five_integers_is_refused(string value) =>
        Assert.Throws<FormatException>(() => LedgerKeys.ParseModelCounters(value));
}
