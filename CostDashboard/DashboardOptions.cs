using System.ComponentModel.DataAnnotations;

namespace LlmCostTracker.CostDashboard;

/// <summary>Section <c>Dashboard</c>.</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Dashboard";

    /// <summary>The admin API (service discovery resolves <c>apiservice</c>).</summary>
    [Required]
    public Uri ApiBaseAddress { get; set; } = new("https+http://apiservice");

    /// <summary>How long a sign-in lasts (not sliding: the admin signs in again after it).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How often the overview refreshes itself; at least 5 s, so an open page costs the API little.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a page waits for the API before it says the API is not answering.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:01:00")]
    public TimeSpan ApiTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the alerts page waits for a test send: the API waits up to <c>Alerts:TestTimeout</c> (5 s)
    /// for the endpoint's answer.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan WebhookTestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Users listed on the overview (the API's top-N: the page never reads every user).</summary>
    [Range(1, 1_000)]
    public int TopUsers { get; set; } = 50;

    /// <summary>Months the overview's, user and tag pages list, this one first: the history database keeps
    /// <c>History:Retention</c> (400 days), so 13 shows a year back. The pricing page (fallback-priced models, kept in
    /// Redis only) lists the two Redis keeps.</summary>
    [Range(1, 36)]
    public int MonthsListed { get; set; } = 13;
}
