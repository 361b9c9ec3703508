using System.Diagnostics.Metrics;
using LlmCostTracker.Pricing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Pricing;

/// <summary>For deployments that reach the internet: pulls <c>Pricing:CatalogUrl</c> every
/// <c>Pricing:CatalogPullInterval</c> and imports it as any uploaded catalog (same formats, same validation; a
/// list with the same content as the version in force stores nothing). A failed pull keeps the version in force,
/// counts <c>llmcost.pricing.catalog_pulls{outcome=failed}</c> and says why in its health check's description and
/// in <c>GET /api/v1/admin/pricing/catalog/versions</c>; the next interval tries again.</summary>
public sealed class CatalogPull(
    IHttpClientFactory http, CatalogImport import, IOptions<PricingOptions> options, TimeProvider clock, IMeterFactory meters, ILogger<CatalogPull> logger)
    : BackgroundService, IHealthCheck
{
    public const string HttpClientName = "pricing-catalog";

    private readonly Counter<long> _pulls = meters.Create("LlmCostTracker")
        .CreateCounter<long>("llmcost.pricing.catalog_pulls", "{pull}", "Scheduled catalog pulls by outcome (stored, unchanged, failed).");

    private CatalogPullStatus? _status = options.Value.CatalogUrl is { } url ? new CatalogPullStatus(url.ToString(), null, null, null, null) : null;

    public CatalogPullStatus? Status => Volatile.Read(ref _status);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.CatalogUrl is not { } url)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.CatalogPullInterval, clock);
        do
        {
            await PullAsync(url, stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public async Task PullAsync(Uri url, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        var status = Status!;
        try
        {
            using var client = http.CreateClient(HttpClientName);
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            var body = await ReadBoundedAsync(response, options.Value.MaxCatalogBytes, ct);
            var result = await import.ImportAsync(body, $"pull {url}");
            if (result.Version is null)
            {
                throw new InvalidDataException(string.Join(" ", result.Errors.Take(3).Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))
                    + (result.Errors.Count > 3 ? $" (and {result.Errors.Count - 3} more)" : ""));
            }

            _pulls.Add(1, new KeyValuePair<string, object?>("outcome", result.Stored ? "stored" : "unchanged"));
            Volatile.Write(ref _status, status with { LastAttemptAt = started, LastSuccessAt = started, LastError = null, LastStoredVersion = result.Version.Version });
            if (result.Stored)
            {
                logger.LogInformation("Price catalog pulled from {Url}: version {Version}, {Entries} entries", url, result.Version.Version, result.Version.Entries);
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Whatever went wrong (the network, the file, a Redis timeout), the version in force stays.
            _pulls.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            Volatile.Write(ref _status, status with { LastAttemptAt = started, LastError = ex.Message });
            logger.LogWarning("Price catalog pull from {Url} failed; the version in force stays: {Reason}", url, ex.Message);
        }
    }

    /// <summary>Healthy either way (the prices in force still price every event), with the last failure named.</summary>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = Status;
        return Task.FromResult(status?.LastError is { } error
            ? HealthCheckResult.Healthy($"The last catalog pull from {status.Url} failed at {status.LastAttemptAt:O}; the version in force stays: {error}")
            : HealthCheckResult.Healthy(status is null ? "No catalog URL configured." : $"Last catalog pull: {status.LastSuccessAt:O}"));
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, long max, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[81_920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > max)
            {
                throw new InvalidDataException($"The catalog is over Pricing:MaxCatalogBytes ({max:N0} bytes).");
            }
        }

        return buffer.ToArray();
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
