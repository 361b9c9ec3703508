using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace LlmCostTracker.LoadBench;

/// <summary>The cost dashboard's month overview with a month of <see cref="BenchOptions.ReportUsers"/> users: signs in
/// as a browser would (the form's antiforgery token, then the session cookie), then times whole page loads (the
/// server-rendered HTML with the data, streamed to its end), and checks each holds the month's top user.</summary>
public sealed partial class DashboardBench(Uri dashboard, string adminKey, BenchOptions options)
{
    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    public async Task<Latency> OverviewAsync(string topUser)
    {
        var cookies = new CookieContainer();
        using var http = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = dashboard };
        var form = await http.GetStringAsync("signin");
        var token = AntiforgeryToken().Match(form).Groups[1].Value;
        using var signIn = await http.PostAsync("signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "signin",
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token),
            ["Input.Key"] = adminKey,
        }));
        if (signIn.StatusCode != HttpStatusCode.Redirect || cookies.GetCookies(dashboard)["llmcost-dashboard"] is null)
        {
            throw new InvalidOperationException($"Signing in to the dashboard answered {(int)signIn.StatusCode}.");
        }

        var timings = new double[options.ReportRequests];
        for (var i = 0; i < timings.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            var page = await http.GetStringAsync("");
            timings[i] = clock.Elapsed.TotalMilliseconds;
            if (!page.Contains(topUser, StringComparison.Ordinal))
            {
                throw new InvalidOperationException("The overview did not list the month's top user.");
            }
        }

        return Latency.Of(timings);
    }
}
