using LlmCostTracker.Ledger;
using Microsoft.Extensions.Configuration;

namespace LlmCostTracker.Tests.Unit;

public sealed class BudgetOptionsTests
{
    private static BudgetOptions Bind(Dictionary<string, string?> values)
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection(values).Build()
            .GetSection(BudgetOptions.SectionName).Get<BudgetOptions>() ?? new BudgetOptions();
        options.Normalize();
        return options;
    }

    [Fact]
    public void Defaults_to_6_dollars_and_80_and_100_percent()
    {
        var options = Bind([]);
        Assert.Equal(6.00m, options.DefaultMonthlyBudgetUsd);
        Assert.Equal([80, 100], options.ThresholdsPercent);
    }

    [Fact]
    public void Configured_thresholds_replace_the_defaults_in_order_without_repeats()
    {
        var options = Bind(new()
        {
            ["Budgets:ThresholdsPercent:0"] = "90",
            ["Budgets:ThresholdsPercent:1"] = "50",
            ["Budgets:ThresholdsPercent:2"] = "90",
        });
        Assert.Equal([50, 90], options.ThresholdsPercent);
    }

    [Fact]
    public void Budgets_Thresholds_is_read_before_the_earlier_name()
    {
        var options = Bind(new()
        {
            ["Budgets:Thresholds:0"] = "75",
            ["Budgets:Thresholds:1"] = "25",
            ["Budgets:ThresholdsPercent:0"] = "90",
        });
        Assert.Equal([25, 75], options.ThresholdsPercent);
    }

    [Fact]
    public void A_budgets_own_thresholds_are_stored_ascending_without_repeats_and_read_back()
    {
        Assert.Equal("25,50,100", BudgetOptions.ThresholdsText([100, 25, 50, 25]));
        Assert.Equal([25, 50, 100], BudgetOptions.ParseThresholds("25,50,100")!);
        Assert.Equal([], BudgetOptions.ParseThresholds(BudgetOptions.ThresholdsText([]))!);
        Assert.Null(BudgetOptions.ParseThresholds(null));
    }

    [Theory]
    [InlineData(6.0, 6_000_000)]
    [InlineData(0.0000005, 1)]
    [InlineData(25.123456, 25_123_456)]
    public void Dollars_convert_to_micro_dollars_and_back(double usd, long micros)
    {
        Assert.Equal(micros, BudgetOptions.ToMicros((decimal)usd));
        Assert.Equal(micros, BudgetOptions.ToMicros(BudgetOptions.ToUsd(micros)));
    }
}
