using System.Globalization;
using System.Text;
using LlmCostTracker.History.Exports;
using LlmCostTracker.History.Reports;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace LlmCostTracker.ApiService.Apis;

/// <summary>Exports of the daily rollups (<c>/api/v1/admin/exports</c>), streamed from the history database.</summary>
public static class ExportsApi
{
    public static RouteGroupBuilder MapExports(this RouteGroupBuilder admin)
    {
        admin.MapGet("/exports/usage", ExportUsage)
            .WithName("ExportUsage")
            .WithSummary("Daily usage rows of a range of days, as CSV or FinOps FOCUS 1.2 CSV")
            .WithDescription("from and to are days (YYYY-MM-DD, UTC, inclusive); format is csv (default) or focus. One row per day, user, model, " +
                "provider, service tier and context band, in that order, streamed as read. Rows appear within History:FlushInterval (2 s) of the usage.")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return admin;
    }

    public static async Task<Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> ExportUsage(
        string? from, string? to, string? format, IServiceProvider services, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var first = AdminParameters.ParseDay(from, "from", errors);
        var last = AdminParameters.ParseDay(to, "to", errors);
        format ??= UsageExport.Csv;
        if (!UsageExport.Formats.Contains(format))
        {
            errors["format"] = [$"format must be one of: {string.Join(", ", UsageExport.Formats)}."];
        }

        if (errors.Count == 0 && last < first)
        {
            errors["to"] = ["to must be on or after from."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (services.GetService<HistoryReader>() is not { } history)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "History is off",
                detail: "Exports read the history database, and no 'history' connection string is configured.");
        }

        // The first row is read before the response starts, so a database that does not answer is a 503, not a
        // truncated file.
        var rows = history.UsageRowsAsync(first, last, ct).GetAsyncEnumerator(ct);
        bool any;
        try
        {
            any = await rows.MoveNextAsync();
        }
        catch (NpgsqlException ex)
        {
            await rows.DisposeAsync();
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "History database unavailable", detail: ex.Message);
        }

        var name = string.Create(CultureInfo.InvariantCulture, $"llm-usage-{first:yyyy-MM-dd}-{last:yyyy-MM-dd}{(format == UsageExport.Focus ? "-focus" : "")}.csv");
        return TypedResults.Stream(async body =>
        {
            await using (rows)
            {
                await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024);
                await writer.WriteAsync(UsageExport.Header(format));
                while (any)
                {
                    await writer.WriteAsync(UsageExport.Line(format, rows.Current));
                    any = await rows.MoveNextAsync();
                }
            }
        }, "text/csv; charset=utf-8", name);
    }
}
